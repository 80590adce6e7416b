package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BackoffMemory is how long a key must go without a failure before its failures are
// forgotten and it starts over with its free ones.
const BackoffMemory = 24 * time.Hour

// Backoff makes a key wait longer after each failure (a wrong passcode): the first After
// failures cost nothing, the next one makes the key wait Base, and each further one
// doubles the wait up to Max. Failures are forgotten after BackoffMemory without one, or
// when the caller clears them. The zero Backoff never makes anyone wait.
type Backoff struct {
	After int
	Base  time.Duration
	Max   time.Duration
}

// Off reports whether the back-off never makes anyone wait.
func (b Backoff) Off() bool { return b.Max <= 0 }

// Wait is how long a key must wait after its newest failure when it has failures in a row.
func (b Backoff) Wait(failures int) time.Duration {
	if b.Off() || failures <= b.After {
		return 0
	}
	// Shifting by more than 40 would overflow for any sensible Base; Max caps it anyway.
	d := b.Base << min(failures-b.After-1, 40)
	if d <= 0 || d > b.Max {
		return b.Max
	}
	return d
}

// String formats the back-off the way Decode reads it.
func (b Backoff) String() string {
	if b.Off() {
		return "off"
	}
	return fmt.Sprintf("%d:%s..%s", b.After, b.Base, b.Max)
}

// Decode parses "N:base..max" (e.g. "5:1s..15m": five free failures, then waits of 1 s,
// 2 s, 4 s, … up to 15 min) or "off"; it lets envconfig read a Backoff.
func (b *Backoff) Decode(s string) error {
	s = strings.TrimSpace(s)
	if s == "off" {
		*b = Backoff{}
		return nil
	}
	bad := fmt.Errorf("back-off %q: want N:base..max such as 5:1s..15m, or off", s)
	n, waits, ok := strings.Cut(s, ":")
	if !ok {
		return bad
	}
	lo, hi, ok := strings.Cut(waits, "..")
	if !ok {
		return bad
	}
	after, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || after < 0 {
		return fmt.Errorf("back-off %q: N must be a whole number of free failures", s)
	}
	base, err1 := time.ParseDuration(strings.TrimSpace(lo))
	limit, err2 := time.ParseDuration(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || base <= 0 || limit < base {
		return fmt.Errorf("back-off %q: base and max must be durations with 0 < base <= max", s)
	}
	*b = Backoff{After: after, Base: base, Max: limit}
	return nil
}

// CheckBackoff fails with an apperr.RateLimited error wrapping *Exceeded while key must
// still wait after its newest failure under b; what names the action for the client.
func (l *Limiter) CheckBackoff(ctx context.Context, key string, b Backoff, what string) error {
	if b.Off() {
		return nil
	}
	now, k := l.now(), refusedKey{key: key, backoff: true}
	if wait, ok := l.refused.wait(k, now); ok {
		return exceeded(wait, "too many wrong %s; try again later", what)
	}
	failures, last, err := l.store.FailedAttemptsOf(ctx, key, now)
	if err != nil {
		return fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	if wait := last.Add(b.Wait(failures)).Sub(now); wait > 0 {
		l.refused.remember(k, now, wait)
		return exceeded(wait, "too many wrong %s; try again later", what)
	}
	return nil
}

// RecordFailure counts one failure for key under b and returns how many it has in a row.
func (l *Limiter) RecordFailure(ctx context.Context, key string, b Backoff) (int, error) {
	if b.Off() {
		return 0, nil
	}
	n, err := l.store.RecordFailedAttempt(ctx, key, l.now(), BackoffMemory)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	return n, nil
}

// ClearFailures forgets key's failures, here and in the store.
func (l *Limiter) ClearFailures(ctx context.Context, key string) error {
	l.refused.forget(refusedKey{key: key, backoff: true})
	if err := l.store.ClearFailedAttempts(ctx, key); err != nil {
		return fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	return nil
}
