package ws

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// Security events are logged at most securityLogFirst times per second per message, then
// one in securityLogThereafter: an attacker who trips a limit thousands of times a second
// leaves a trace without filling the disk. The metrics count every event.
const (
	securityLogFirst      = 10
	securityLogThereafter = 1000
)

// securityLog returns the sampled logger for security events.
func securityLog(log *zap.Logger) *zap.Logger {
	return log.Named("security").WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, securityLogFirst, securityLogThereafter)
	}))
}

// limited counts and logs a rate-limit hit; limit is one of the metrics.Limit constants.
// Nothing secret is logged: the client's address and id, the room, the member.
func (c *conn) limited(limit, room, member string) {
	c.h.metrics.RateLimited.WithLabelValues(limit).Inc()
	c.h.sec.Warn("rate limited", zap.String("limit", limit), zap.String("ip", c.ip),
		zap.String("client", c.id), zap.String("room", room), zap.String("member", member))
}

// refuseLimited answers a frame refused by a rate limit.
func (c *conn) refuseLimited(ref, room, member, limit, detail string, wait time.Duration) {
	c.limited(limit, room, member)
	c.replyError(ref, room, &protocol.Error{Code: wire.CodeRateLimited, Detail: detail, RetryAfter: wait})
}

// tokenRefused logs a join refused for its token, with the reason but never the token.
func (c *conn) tokenRefused(room, code, reason, member string) {
	c.h.sec.Warn("token refused", zap.String("code", code), zap.String("reason", reason), zap.String("ip", c.ip),
		zap.String("client", c.id), zap.String("room", room), zap.String("member", member))
}
