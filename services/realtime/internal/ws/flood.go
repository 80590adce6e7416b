package ws

import (
	"fmt"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
)

// A connection whose frames its frame limiter refuses is told rate_limited with how long
// to wait. A frame refused before the wait it was last told has ended is early: the
// client is not waiting as told. Early refusals are what a flood is made of, and what
// the flood guard counts; a client that waits as told is never early, however close to
// the frame rate it sends.
//
// Answering every refused frame costs a write, so once a connection has had
// quietAfterEarly early refusals in a window, further early ones are answered at most
// once every refusalNoticeEvery (the answer counts those dropped unanswered since the
// previous one); the rest cost no write and are not even decoded. A connection with more
// than Config.FloodCloseAfter early refusals in Config.FloodWindow is closed with 1008.
const (
	quietAfterEarly    = 50
	refusalNoticeEvery = 100 * time.Millisecond
)

// floodGuard keeps one connection's count of early refusals. It is used by the frame
// handlers only, one at a time, like the frame limiter.
type floodGuard struct {
	retryAt    time.Time // the end of the longest wait the connection was told
	start      time.Time // of the current window
	early      int       // early refusals in the current window
	unanswered int       // refusals dropped since the last answered one
	lastAnswer time.Time
}

// verdict is what to do with a refused frame.
type verdict int

const (
	answerRefusal verdict = iota // answer it with rate_limited
	dropRefusal                  // drop it without a word
	closeFlooding                // close the connection: it is flooding
)

// refuse counts a frame refused at now whose wait would be wait; closeAfter (0: never)
// and window are the flood limit. With answerRefusal it also returns how many refusals
// went unanswered before this one.
func (g *floodGuard) refuse(now time.Time, wait time.Duration, closeAfter int, window time.Duration) (verdict, int) {
	if now.Before(g.retryAt) {
		if g.start.IsZero() || now.Sub(g.start) >= window {
			g.start, g.early = now, 0
		}
		g.early++
		if closeAfter > 0 && g.early > closeAfter {
			return closeFlooding, 0
		}
		if g.early > quietAfterEarly && now.Sub(g.lastAnswer) < refusalNoticeEvery {
			g.unanswered++
			return dropRefusal, 0
		}
	}
	unanswered := g.unanswered
	g.unanswered, g.lastAnswer = 0, now
	if until := now.Add(wait); until.After(g.retryAt) {
		g.retryAt = until
	}
	return answerRefusal, unanswered
}

// refusal is the answer owed to a frame the frame limiter refused.
type refusal struct {
	wait       time.Duration // until the frame would have passed
	unanswered int           // refused frames dropped unanswered just before it
}

// refuseFrame charges a frame the frame limiter refused to the flood guard. It reports
// whether the frame is to be answered, and how; one that is not is counted (and logged,
// sampled) here, and a flooding connection is closed.
func (c *conn) refuseFrame(now time.Time, wait time.Duration) (refusal, bool) {
	v, unanswered := c.flood.refuse(now, wait, c.h.cfg.FloodCloseAfter, c.h.cfg.FloodWindow)
	switch v {
	case closeFlooding:
		c.limited(metrics.LimitFrame, "", "")
		c.closeFlooding()
		return refusal{}, false
	case dropRefusal:
		c.limited(metrics.LimitFrame, "", "")
		return refusal{}, false
	}
	return refusal{wait: wait, unanswered: unanswered}, true
}

// answerRefusal answers a refused frame with rate_limited.
func (c *conn) answerRefusal(ref, room string, r refusal) {
	detail := "too many frames; this one was dropped"
	if r.unanswered > 0 {
		detail = fmt.Sprintf("too many frames; this one was dropped, and %d before it without an answer", r.unanswered)
	}
	c.refuseLimited(ref, room, "", metrics.LimitFrame, detail, r.wait)
}

// closeFlooding closes a connection that kept sending after being told to wait, with 1008
// (policy violation); its frames still in flight are dropped unread.
func (c *conn) closeFlooding() {
	c.h.metrics.FloodCloses.Inc()
	c.h.sec.Warn("closing flooding connection", zap.String("ip", c.ip), zap.String("client", c.id),
		zap.Int("early_refusals", c.flood.early), zap.Duration("window", c.h.cfg.FloodWindow))
	c.abort(websocket.StatusPolicyViolation, "too many frames sent before retry_after_ms")
}

// closing reports whether the connection is being torn down.
func (c *conn) closing() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}
