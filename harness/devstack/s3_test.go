package devstack

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestS3ServesSignedRequestsOfItsIdentityOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts SeaweedFS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := StartS3(ctx, S3Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	c, err := s.Settings().Client()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("hello, object")
	if _, err := c.PutObject(ctx, s.Bucket(), "a/b", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, s.Bucket(), "a/b", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the object reads %q, %v", got, err)
	}

	t.Run("a wrong secret is refused", func(t *testing.T) {
		bad := s.Settings()
		bad.SecretKey = "wrong"
		c, err := bad.Client()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.StatObject(ctx, s.Bucket(), "a/b", minio.StatObjectOptions{}); err == nil {
			t.Fatal("a request signed with a wrong secret was served")
		}
	})
	t.Run("a bucket is created and deleted with its objects", func(t *testing.T) {
		if err := CreateBucket(ctx, s.Settings(), "scratch"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx, "scratch", "x", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := DeleteBucket(ctx, s.Settings(), "scratch"); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.BucketExists(ctx, "scratch"); err != nil || ok {
			t.Fatalf("BucketExists after delete = %v, %v", ok, err)
		}
		if err := DeleteBucket(ctx, s.Settings(), "scratch"); err != nil {
			t.Fatalf("deleting a missing bucket: %v", err)
		}
	})
}
