package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

// janitorStore is what the janitor cleans up.
type janitorStore interface {
	DeleteIdleRateLimits(ctx context.Context, now time.Time) (int64, error)
	DeleteExpiredOIDCLogins(ctx context.Context, now time.Time) (int64, error)
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error)
	DeleteExpiredFailedAttempts(ctx context.Context, now time.Time) (int64, error)
	DeleteExpiredSignInAddresses(ctx context.Context, now time.Time) (int64, error)
}

var _ janitorStore = (*store.Store)(nil)

// fileSweeper deletes the attachments that can no longer be used, up to limit, and says
// how many it deleted.
type fileSweeper interface {
	Sweep(ctx context.Context, limit int) (int, error)
}

var _ fileSweeper = (*app.Attachments)(nil)

// sweepBatch bounds the files one sweep deletes; a backlog is worked off a batch a round.
const sweepBatch = 500

// runJanitor deletes rows that can no longer matter, and files no message can show, every
// interval until ctx ends. Every replica runs one; the deletes are idempotent, so they need
// no coordination.
func runJanitor(ctx context.Context, st janitorStore, files fileSweeper, interval time.Duration, log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		for name, f := range map[string]func(context.Context, time.Time) (int64, error){
			"rate limits":             st.DeleteIdleRateLimits,
			"OIDC sign-ins":           st.DeleteExpiredOIDCLogins,
			"refresh tokens":          st.DeleteExpiredRefreshTokens,
			"back-offs":               st.DeleteExpiredFailedAttempts,
			"known sign-in addresses": st.DeleteExpiredSignInAddresses,
		} {
			if n, err := f(ctx, now); err != nil && ctx.Err() == nil {
				log.Warn("janitor: cleanup failed", zap.String("what", name), zap.Error(err))
			} else if n > 0 {
				log.Debug("janitor: deleted", zap.String("what", name), zap.Int64("rows", n))
			}
		}
		if n, err := files.Sweep(ctx, sweepBatch); err != nil && ctx.Err() == nil {
			log.Warn("janitor: deleting files failed", zap.Int("deleted", n), zap.Error(err))
		} else if n > 0 {
			log.Info("janitor: deleted files no message shows", zap.Int("files", n))
		}
	}
}
