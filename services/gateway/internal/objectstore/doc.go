// Package objectstore keeps attachments' bytes in S3-compatible object storage (AWS S3,
// Cloudflare R2, Google Cloud Storage's XML API, Ceph, SeaweedFS, MinIO) through the
// minio-go client, and signs the short-lived URLs browsers upload to and download from.
//
// Uploads are presigned POST policies: the store itself refuses an upload whose key, media
// type or length differs from what the gateway signed, or that arrives after the policy
// expired. Downloads are presigned GETs that name the Content-Type and Content-Disposition
// the store must answer with.
package objectstore
