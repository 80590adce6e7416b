package objectstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

var _ app.ObjectStore = (*S3Store)(nil)

// S3Config says how to reach the bucket.
type S3Config struct {
	// Endpoint is the S3 API's URL as the gateway reaches it, e.g. https://s3.amazonaws.com
	// or http://127.0.0.1:8333 (no path). Required.
	Endpoint string
	// PublicEndpoint is the URL browsers reach the same API at, for which upload and
	// download URLs are signed (default Endpoint).
	PublicEndpoint string
	// Region is the bucket's region; signatures name it (default us-east-1). R2 uses
	// "auto".
	Region string
	// Bucket holds the objects. Required.
	Bucket string
	// PathStyle addresses the bucket as a path (endpoint/bucket/key) instead of a host
	// name (bucket.endpoint/key); servers without wildcard DNS (SeaweedFS, MinIO) need it.
	PathStyle bool
	// AccessKey and SecretKey sign every request. Required.
	AccessKey, SecretKey string
	// CAFile is a PEM file of certificate authorities trusted for an https Endpoint,
	// instead of the system roots (default: the system roots).
	CAFile string
}

// S3Store is an app.ObjectStore in one bucket.
type S3Store struct {
	api    *minio.Client // for the gateway's own requests
	public *minio.Client // only signs; never sends a request
	bucket string
	origin string
}

// NewS3Store returns a store in cfg.Bucket. It sends no request: Ping checks the bucket.
func NewS3Store(cfg S3Config) (*S3Store, error) {
	if cfg.Bucket == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("objectstore: bucket, access key and secret key are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.PublicEndpoint == "" {
		cfg.PublicEndpoint = cfg.Endpoint
	}
	var transport http.RoundTripper
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("objectstore: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("objectstore: no PEM certificate in %s", cfg.CAFile)
		}
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			return nil, fmt.Errorf("objectstore: transport: %w", err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		transport = tr
	}
	api, err := newClient(cfg, cfg.Endpoint, transport)
	if err != nil {
		return nil, err
	}
	public, err := newClient(cfg, cfg.PublicEndpoint, transport)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.PublicEndpoint) // newClient checked it
	origin := u.Scheme + "://" + u.Host
	if !cfg.PathStyle {
		origin = u.Scheme + "://" + cfg.Bucket + "." + u.Host
	}
	return &S3Store{api: api, public: public, bucket: cfg.Bucket, origin: origin}, nil
}

// PublicOrigin is scheme://host[:port] of the URLs the store signs for browsers.
func (s *S3Store) PublicOrigin() string { return s.origin }

// newClient returns a client of endpoint. The region is given, so signing never asks the
// server for the bucket's location.
func newClient(cfg S3Config, endpoint string, transport http.RoundTripper) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("objectstore: endpoint %q must be an http or https URL without a path", endpoint)
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    transport,
	})
	if err != nil {
		return nil, fmt.Errorf("objectstore: client for %s: %w", endpoint, err)
	}
	return c, nil
}

// Ping checks that the bucket exists and the credentials may read it.
func (s *S3Store) Ping(ctx context.Context) error {
	ok, err := s.api.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("objectstore: bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("objectstore: bucket %s does not exist", s.bucket)
	}
	return nil
}

// UploadForm implements app.ObjectStore: a POST policy that binds the key, the media type
// and the exact length.
func (s *S3Store) UploadForm(ctx context.Context, key, contentType string, size int64, expires time.Time) (app.UploadForm, error) {
	p := minio.NewPostPolicy()
	for _, err := range []error{
		p.SetBucket(s.bucket), p.SetKey(key), p.SetExpires(expires), p.SetContentType(contentType),
		p.SetContentLengthRange(size, size),
	} {
		if err != nil {
			return app.UploadForm{}, apperr.Wrap(err, apperr.Internal, "upload policy")
		}
	}
	u, fields, err := s.public.PresignedPostPolicy(ctx, p)
	if err != nil {
		return app.UploadForm{}, apperr.Wrap(err, apperr.Internal, "sign upload policy")
	}
	return app.UploadForm{URL: u.String(), Fields: fields}, nil
}

// DownloadURL implements app.ObjectStore.
func (s *S3Store) DownloadURL(ctx context.Context, key string, ttl time.Duration, contentType, disposition string) (string, error) {
	q := url.Values{}
	q.Set("response-content-type", contentType)
	q.Set("response-content-disposition", disposition)
	// A signed URL is a credential for its lifetime: browsers must not keep the answer.
	q.Set("response-cache-control", "private, max-age="+fmt.Sprint(int(ttl.Seconds())))
	u, err := s.public.PresignedGetObject(ctx, s.bucket, key, ttl, q)
	if err != nil {
		return "", apperr.Wrap(err, apperr.Internal, "sign download URL")
	}
	return u.String(), nil
}

// Stat implements app.ObjectStore.
func (s *S3Store) Stat(ctx context.Context, key string) (app.ObjectInfo, error) {
	info, err := s.api.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return app.ObjectInfo{}, translate(err, "object")
	}
	return app.ObjectInfo{Size: info.Size, ContentType: info.ContentType}, nil
}

// Open implements app.ObjectStore.
func (s *S3Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.api.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, translate(err, "object")
	}
	// GetObject is lazy: the first read tells whether the object exists.
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		return nil, translate(err, "object")
	}
	return obj, nil
}

// Put implements app.ObjectStore.
func (s *S3Store) Put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := s.api.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: contentType})
	return translate(err, "object")
}

// Delete implements app.ObjectStore. Objects that do not exist are no error.
func (s *S3Store) Delete(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if err := s.api.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
			if minio.ToErrorResponse(err).Code == "NoSuchKey" {
				continue
			}
			return translate(err, "object")
		}
	}
	return nil
}

// translate codes the store's errors: a missing object is NotFound, a refusal of our
// credentials Internal (a configuration fault), anything else Unavailable.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return apperr.Wrap(err, apperr.NotFound, "%s not found", what)
	case resp.StatusCode == http.StatusForbidden || resp.Code == "NoSuchBucket" || resp.Code == "InvalidAccessKeyId" ||
		resp.Code == "SignatureDoesNotMatch":
		return apperr.Wrap(err, apperr.Internal, "object store refused the gateway's request")
	}
	return apperr.Wrap(err, apperr.Unavailable, "object store unavailable")
}
