package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// RecordFailedAttempt counts one failure for key at now and returns how many the key has
// now. A key that stayed quiet for forget starts over at one, and the record is kept for
// forget after its newest failure.
func (s *Store) RecordFailedAttempt(ctx context.Context, key string, now time.Time, forget time.Duration) (int, error) {
	n, err := s.q.RecordFailedAttempt(ctx, dbgen.RecordFailedAttemptParams{
		Key: key, NowUs: now.UnixMicro(), ExpiresUs: now.Add(forget).UnixMicro(),
	})
	if err != nil {
		return 0, translate(err, "failed attempts")
	}
	return int(n), nil
}

// FailedAttemptsOf returns how many failures in a row key has at now and when the newest
// happened; a key without failures, or whose failures are forgotten by now, has none.
func (s *Store) FailedAttemptsOf(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	row, err := s.q.GetFailedAttempts(ctx, key)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.ExpiresUs <= now.UnixMicro()) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, translate(err, "failed attempts")
	}
	return int(row.Failures), time.UnixMicro(row.LastFailureUs), nil
}

// ClearFailedAttempts forgets key's failures.
func (s *Store) ClearFailedAttempts(ctx context.Context, key string) error {
	return translate(s.q.ClearFailedAttempts(ctx, key), "failed attempts")
}

// DeleteExpiredFailedAttempts removes failure records forgotten by now and returns how
// many.
func (s *Store) DeleteExpiredFailedAttempts(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.q.DeleteExpiredFailedAttempts(ctx, now.UnixMicro())
	if err != nil {
		return 0, translate(err, "failed attempts")
	}
	return n, nil
}
