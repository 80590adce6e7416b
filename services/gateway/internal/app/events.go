package app

import (
	"context"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// securityLog records security events for operators as structured fields: what happened
// (event), the client address as rate limits count it (client), and ids of accounts and
// groups. It never records a password, passcode, token or email address: an email field
// is where people type their password by mistake.
type securityLog struct{ log *zap.Logger }

// event logs a security event; refusals that an attacker drives (limits hit, lockouts,
// claims) are warnings, single failures are information.
func (s securityLog) event(warn bool, name string, fields ...zap.Field) {
	fields = append([]zap.Field{zap.String("event", name)}, fields...)
	if warn {
		s.log.Warn("security event", fields...)
	} else {
		s.log.Info("security event", fields...)
	}
}

func client(c string) zap.Field { return zap.String("client", c) }

// guard applies the abuse limits and logs every refusal.
type guard struct {
	limiter Limiter
	limits  Limits
	log     securityLog
}

// take counts one attempt for key under rule; when the key is over its budget it logs a
// rate_limited event naming the limit, with fields, and returns the RateLimited error.
func (g guard) take(ctx context.Context, key string, rule ratelimit.Rule, what, limit string, fields ...zap.Field) error {
	err := g.limiter.Take(ctx, key, rule, what)
	if apperr.Is(err, apperr.RateLimited) {
		g.log.event(true, "rate_limited", append([]zap.Field{zap.String("limit", limit)}, fields...)...)
	}
	return err
}

// waitBackoff fails while key must still wait after its failures under b, logging a
// backoff event naming the limit.
func (g guard) waitBackoff(ctx context.Context, key string, b ratelimit.Backoff, what, limit string, fields ...zap.Field) error {
	err := g.limiter.CheckBackoff(ctx, key, b, what)
	if apperr.Is(err, apperr.RateLimited) {
		g.log.event(true, "backoff", append([]zap.Field{zap.String("limit", limit)}, fields...)...)
	}
	return err
}
