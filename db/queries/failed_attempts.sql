-- name: RecordFailedAttempt :one
-- Counts one failure for key at now_us. A key quiet until its row expired starts over at
-- one; the row then lives until expires_us.
INSERT INTO failed_attempts AS f (key, failures, last_failure_us, expires_us)
VALUES (sqlc.arg(key), 1, sqlc.arg(now_us)::bigint, sqlc.arg(expires_us)::bigint)
ON CONFLICT (key) DO UPDATE
SET failures = CASE WHEN f.expires_us <= sqlc.arg(now_us)::bigint THEN 1 ELSE f.failures + 1 END,
    last_failure_us = greatest(f.last_failure_us, sqlc.arg(now_us)::bigint),
    expires_us = greatest(f.expires_us, sqlc.arg(expires_us)::bigint)
RETURNING failures;

-- name: GetFailedAttempts :one
SELECT failures, last_failure_us, expires_us FROM failed_attempts WHERE key = @key;

-- name: ClearFailedAttempts :exec
DELETE FROM failed_attempts WHERE key = @key;

-- name: DeleteExpiredFailedAttempts :execrows
DELETE FROM failed_attempts WHERE expires_us < @now_us::bigint;
