package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// TakeRateToken applies the generic cell rate algorithm (GCRA) to key: a request is admitted
// when at most burst/interval requests are "in flight", each one draining after interval.
// It returns 0 when the request is admitted and otherwise how long until one would be. The
// state lives in PostgreSQL so every gateway replica shares it.
func (s *Store) TakeRateToken(ctx context.Context, key string, now time.Time, interval, burst time.Duration) (time.Duration, error) {
	if interval <= 0 || burst < interval {
		return 0, fmt.Errorf("store: rate limit %q: need 0 < interval <= burst", key)
	}
	nowUs := now.UnixMicro()
	_, err := s.q.TakeRateLimitToken(ctx, dbgen.TakeRateLimitTokenParams{
		Key: key, NowUs: nowUs, IntervalUs: interval.Microseconds(), BurstUs: burst.Microseconds(),
	})
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, translate(err, "rate limit")
	}
	// Denied: the wait is until the arrival time has drained back into the burst window.
	tat, err := s.q.GetRateLimit(ctx, key)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			// Deleted by the janitor in between, so nothing is pending any more.
			return 0, nil
		}
		return 0, translate(err, "rate limit")
	}
	wait := time.Duration(tat+interval.Microseconds()-burst.Microseconds()-nowUs) * time.Microsecond
	return max(wait, time.Microsecond), nil
}

// DeleteIdleRateLimits removes keys with nothing pending at now and returns how many.
func (s *Store) DeleteIdleRateLimits(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.q.DeleteIdleRateLimits(ctx, now.UnixMicro())
	if err != nil {
		return 0, translate(err, "rate limits")
	}
	return n, nil
}
