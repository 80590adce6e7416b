package devstack

import (
	"context"
	"fmt"
	"net/url"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Names of the environment variables through which an S3 server is handed to tests
// (package testenv reads them).
const (
	// EnvS3Endpoint is the S3 API's URL, e.g. http://127.0.0.1:8333.
	EnvS3Endpoint = "QC_TEST_S3_ENDPOINT"
	// EnvS3AccessKey and EnvS3SecretKey are the credentials of an identity that may create
	// and delete buckets.
	EnvS3AccessKey = "QC_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "QC_TEST_S3_SECRET_KEY"
)

// S3Settings say how to reach an S3-compatible server as an identity that may do anything.
type S3Settings struct {
	// Endpoint is the S3 API's URL (http or https, no path).
	Endpoint string
	// AccessKey and SecretKey sign requests (signature version 4, region S3Region).
	AccessKey, SecretKey string
}

// Env returns the settings as the QC_TEST_S3_* variables package testenv reads.
func (s S3Settings) Env() []string {
	return []string{EnvS3Endpoint + "=" + s.Endpoint, EnvS3AccessKey + "=" + s.AccessKey, EnvS3SecretKey + "=" + s.SecretKey}
}

// GatewayEnv returns the gateway's settings for storing attachments in bucket
// (GATEWAY_S3_*). Browsers reach the server at the same address, path-style.
func (s S3Settings) GatewayEnv(bucket string) []string {
	return []string{
		"GATEWAY_S3_ENDPOINT=" + s.Endpoint,
		"GATEWAY_S3_REGION=" + S3Region,
		"GATEWAY_S3_BUCKET=" + bucket,
		"GATEWAY_S3_PATH_STYLE=true",
		"GATEWAY_S3_ACCESS_KEY=" + s.AccessKey,
		"GATEWAY_S3_SECRET_KEY=" + s.SecretKey,
	}
}

// Client returns an S3 client for the server.
func (s S3Settings) Client() (*minio.Client, error) {
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("s3: endpoint %q is not an http(s) URL", s.Endpoint)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       S3Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: client for %s: %w", s.Endpoint, err)
	}
	return c, nil
}

// CreateBucket creates bucket unless it exists.
func CreateBucket(ctx context.Context, s S3Settings, bucket string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	exists, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("s3: look for bucket %s: %w", bucket, err)
	}
	if exists {
		return nil
	}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: S3Region}); err != nil {
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("s3: create bucket %s: %w", bucket, err)
	}
	return nil
}

// DeleteBucket deletes every object of bucket, then the bucket; a bucket that does not
// exist is no error.
func DeleteBucket(ctx context.Context, s S3Settings, bucket string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	objects := make(chan minio.ObjectInfo)
	listErr := make(chan error, 1)
	go func() {
		defer close(objects)
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				if minio.ToErrorResponse(o.Err).Code != "NoSuchBucket" {
					listErr <- fmt.Errorf("s3: list bucket %s: %w", bucket, o.Err)
				}
				return
			}
			objects <- o
		}
	}()
	for res := range c.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			return fmt.Errorf("s3: empty bucket %s: %w", bucket, res.Err)
		}
	}
	select {
	case err := <-listErr:
		return err
	default:
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil && minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		return fmt.Errorf("s3: delete bucket %s: %w", bucket, err)
	}
	return nil
}
