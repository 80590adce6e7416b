package main

import (
	"errors"
	"net/url"
	"time"

	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/objectstore"
	"github.com/quickchat-go/quickchat/services/gateway/internal/web"
)

// thumbnailBox is the side of the square image thumbnails fit in, in pixels.
const thumbnailBox = 320

// attachmentsOn reports whether the gateway stores attachments.
func (c Config) attachmentsOn() bool { return c.S3Endpoint != "" }

// validateAttachments checks the object store and attachment settings when attachments
// are on; they are unused otherwise.
func (c Config) validateAttachments() []error {
	if !c.attachmentsOn() {
		return nil
	}
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	for _, raw := range []string{c.S3Endpoint, c.S3PublicEndpoint} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && (u.Path == "" || u.Path == "/"),
			"GATEWAY_S3_ENDPOINT and GATEWAY_S3_PUBLIC_ENDPOINT must be http(s) URLs without a path")
	}
	check(c.S3Bucket != "", "GATEWAY_S3_BUCKET is required with GATEWAY_S3_ENDPOINT")
	check(c.S3AccessKey != "" && c.S3SecretKey != "", "GATEWAY_S3_ACCESS_KEY and GATEWAY_S3_SECRET_KEY are required with GATEWAY_S3_ENDPOINT")
	check(c.AttachmentMaxBytes > 0, "GATEWAY_ATTACHMENT_MAX_BYTES must be positive")
	check(c.AttachmentGroupQuotaBytes >= 0, "GATEWAY_ATTACHMENT_GROUP_QUOTA_BYTES must not be negative")
	check(len(c.AttachmentTypes) > 0, "GATEWAY_ATTACHMENT_TYPES must name at least one media type")
	check(c.AttachmentUploadTTL > 0 && c.AttachmentRefTTL > 0 && c.AttachmentDownloadTTL > 0,
		"GATEWAY_ATTACHMENT_UPLOAD_TTL, _REF_TTL and _DOWNLOAD_TTL must be positive")
	// Signed URLs live at most a week (signature version 4).
	check(c.AttachmentUploadTTL <= 7*24*time.Hour && c.AttachmentDownloadTTL <= 7*24*time.Hour,
		"GATEWAY_ATTACHMENT_UPLOAD_TTL and _DOWNLOAD_TTL must be at most 168h")
	check(c.AttachmentOrphanAge > c.AttachmentUploadTTL+c.AttachmentRefTTL,
		"GATEWAY_ATTACHMENT_ORPHAN_AGE must exceed GATEWAY_ATTACHMENT_UPLOAD_TTL plus GATEWAY_ATTACHMENT_REF_TTL")
	check(c.AttachmentMaxPixels > 0, "GATEWAY_ATTACHMENT_MAX_PIXELS must be positive")
	return errs
}

// s3Config is how the object store is reached.
func (c Config) s3Config() objectstore.S3Config {
	return objectstore.S3Config{
		Endpoint: c.S3Endpoint, PublicEndpoint: c.S3PublicEndpoint, Region: c.S3Region, Bucket: c.S3Bucket,
		PathStyle: c.S3PathStyle, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, CAFile: c.S3CAFile,
	}
}

// attachmentSettings are the use cases' limits and lifetimes.
func (c Config) attachmentSettings() app.AttachmentSettings {
	return app.AttachmentSettings{
		MaxBytes: c.AttachmentMaxBytes, Types: c.AttachmentTypes, GroupQuotaBytes: c.AttachmentGroupQuotaBytes,
		UploadsPerMember: c.RateAttachmentPerMember, UploadTTL: c.AttachmentUploadTTL, RefTTL: c.AttachmentRefTTL,
		DownloadTTL: c.AttachmentDownloadTTL, OrphanAge: c.AttachmentOrphanAge, MaxPixels: c.AttachmentMaxPixels,
		ThumbnailBox: thumbnailBox, KeyPrefix: c.S3KeyPrefix,
	}
}

// webAttachments tells the web UI how to share files, or nil when attachments are off.
func (c Config) webAttachments(store *objectstore.S3Store) *web.Attachments {
	if store == nil {
		return nil
	}
	return &web.Attachments{MaxBytes: c.AttachmentMaxBytes, Types: c.AttachmentTypes, StorageOrigin: store.PublicOrigin()}
}
