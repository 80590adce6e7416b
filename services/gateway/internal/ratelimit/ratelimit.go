package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Rule allows Limit events per Per, in bursts of up to Limit. The zero Rule allows
// everything.
type Rule struct {
	Limit int
	Per   time.Duration
}

// Off reports whether the rule limits nothing.
func (r Rule) Off() bool { return r.Limit <= 0 }

// String formats the rule the way Decode reads it.
func (r Rule) String() string {
	if r.Off() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Limit, r.Per)
}

// Decode parses "N/duration" (e.g. "10/1m") or "off"; it lets envconfig read a Rule.
func (r *Rule) Decode(s string) error {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		*r = Rule{}
		return nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("rate rule %q: want N/duration such as 10/1m, or off", s)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || limit < 1 {
		return fmt.Errorf("rate rule %q: N must be a positive integer", s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d <= 0 {
		return fmt.Errorf("rate rule %q: duration must be positive, such as 1m", s)
	}
	if d/time.Duration(limit) < time.Microsecond {
		return fmt.Errorf("rate rule %q: more than one event per microsecond", s)
	}
	*r = Rule{Limit: limit, Per: d}
	return nil
}

// Store keeps the shared counters, so every replica enforces one budget. TakeRateToken
// counts one event for key if at most burst/interval events are in flight, each draining
// after interval (the generic cell rate algorithm); it returns 0 when the event is admitted
// and otherwise how long until one would be. pkg/store implements it in PostgreSQL.
//
// The other methods keep failure records for Backoff: RecordFailedAttempt counts one
// failure and returns the failures in a row (a key quiet for forget starts over),
// FailedAttemptsOf returns them with the newest failure's time (none once forgotten), and
// ClearFailedAttempts forgets them.
type Store interface {
	TakeRateToken(ctx context.Context, key string, now time.Time, interval, burst time.Duration) (time.Duration, error)
	RecordFailedAttempt(ctx context.Context, key string, now time.Time, forget time.Duration) (int, error)
	FailedAttemptsOf(ctx context.Context, key string, now time.Time) (int, time.Time, error)
	ClearFailedAttempts(ctx context.Context, key string) error
}

// Limiter checks rules against a Store. It remembers the store's refusals until their
// retry-after (see refused), so a key hammering a limit costs the store nothing more.
type Limiter struct {
	store   Store
	now     func() time.Time
	refused *refused
}

// New returns a Limiter over st.
func New(st Store) *Limiter { return &Limiter{store: st, now: time.Now, refused: newRefused()} }

// Exceeded is the cause of a rate-limited error; transports read RetryAfter from it.
type Exceeded struct {
	// RetryAfter is how long until the key may try again.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Exceeded) Error() string {
	return fmt.Sprintf("rate limit exceeded; retry in %s", e.RetryAfter)
}

// Take counts one event for key under rule. It returns nil if the event is allowed and an
// apperr.RateLimited error wrapping *Exceeded if not; what names the action for the
// client-facing message.
func (l *Limiter) Take(ctx context.Context, key string, rule Rule, what string) error {
	if rule.Off() {
		return nil
	}
	now, k := l.now(), refusedKey{key: key, rule: rule}
	if wait, ok := l.refused.wait(k, now); ok {
		return exceeded(wait, "too many %s; try again later", what)
	}
	interval := rule.Per / time.Duration(rule.Limit)
	wait, err := l.store.TakeRateToken(ctx, key, now, interval, interval*time.Duration(rule.Limit))
	if err != nil {
		return fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	if wait > 0 {
		l.refused.remember(k, now, wait)
		return exceeded(wait, "too many %s; try again later", what)
	}
	return nil
}

// exceeded is the apperr.RateLimited error wrapping *Exceeded that Take and CheckBackoff
// return; message names the action with what.
func exceeded(wait time.Duration, message, what string) error {
	return apperr.Wrap(&Exceeded{RetryAfter: wait}, apperr.RateLimited, message, what)
}
