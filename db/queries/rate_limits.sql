-- name: TakeRateLimitToken :one
-- GCRA in one statement: admits the request (and returns the new arrival time) when the
-- key's arrival time, moved forward by one interval, stays within the burst window;
-- otherwise it changes nothing and returns no row.
INSERT INTO rate_limits AS r (key, tat_us)
VALUES (sqlc.arg(key), sqlc.arg(now_us)::bigint + sqlc.arg(interval_us)::bigint)
ON CONFLICT (key) DO UPDATE
SET tat_us = greatest(r.tat_us, sqlc.arg(now_us)::bigint) + sqlc.arg(interval_us)::bigint
WHERE greatest(r.tat_us, sqlc.arg(now_us)::bigint) + sqlc.arg(interval_us)::bigint <= sqlc.arg(now_us)::bigint + sqlc.arg(burst_us)::bigint
RETURNING tat_us;

-- name: GetRateLimit :one
SELECT tat_us FROM rate_limits WHERE key = @key;

-- name: DeleteIdleRateLimits :execrows
DELETE FROM rate_limits WHERE tat_us < @now_us::bigint;
