package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/store"
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

// runJanitor deletes rows that can no longer matter every interval until ctx ends. Every
// replica runs one; the deletes are idempotent, so they need no coordination.
func runJanitor(ctx context.Context, st janitorStore, interval time.Duration, log *zap.Logger) {
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
	}
}
