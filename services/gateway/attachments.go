package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/objectstore"
	"github.com/quickchat-go/quickchat/services/gateway/internal/web"
)

// objectStoreCheckTimeout bounds the look at the bucket at start.
const objectStoreCheckTimeout = 10 * time.Second

// openObjectStore returns the object store of attachments and what the web UI needs to
// use it, or nil for both when attachments are off. A bucket that cannot be reached at
// start is logged, not fatal: chat works without files, and uploads work once it answers.
func openObjectStore(ctx context.Context, cfg Config, log *zap.Logger) (app.ObjectStore, *web.Attachments, error) {
	if !cfg.attachmentsOn() {
		log.Info("attachments are off (GATEWAY_S3_ENDPOINT is empty)")
		return nil, nil, nil
	}
	s, err := objectstore.NewS3Store(cfg.s3Config())
	if err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, objectStoreCheckTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		log.Error("the attachments' bucket cannot be reached; uploads fail until it can", zap.String("endpoint", cfg.S3Endpoint),
			zap.String("bucket", cfg.S3Bucket), zap.Error(err))
	}
	return s, cfg.webAttachments(s), nil
}
