package testenv

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

var s3 shared[devstack.S3Settings]

// S3 returns how to reach the shared S3-compatible server (SeaweedFS), as an identity that
// may create buckets. Tests isolate themselves with S3Bucket.
func S3(tb testing.TB) devstack.S3Settings {
	tb.Helper()
	return get(tb, &s3, "an S3 server", devstack.EnvS3Endpoint,
		func(endpoint string) devstack.S3Settings {
			return devstack.S3Settings{
				Endpoint: endpoint, AccessKey: os.Getenv(devstack.EnvS3AccessKey), SecretKey: os.Getenv(devstack.EnvS3SecretKey),
			}
		},
		func(ctx context.Context) (devstack.S3Settings, func() error, error) {
			s, err := devstack.StartS3(ctx, devstack.S3Config{})
			if err != nil {
				return devstack.S3Settings{}, nil, err
			}
			return s.Settings(), s.Close, nil
		})
}

// S3Bucket creates a bucket no other test uses on the shared S3 server and returns its
// name. The bucket is deleted, with every object in it, when tb ends.
func S3Bucket(tb testing.TB) string {
	tb.Helper()
	settings := S3(tb)
	// Bucket names are 3 to 63 lower-case letters, digits and hyphens.
	name := "qct-" + strings.ReplaceAll(UniqueName(tb), "_", "-")
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := devstack.CreateBucket(ctx, settings, name); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := devstack.DeleteBucket(ctx, settings, name); err != nil {
			tb.Logf("testenv: %v", err)
		}
	})
	return name
}
