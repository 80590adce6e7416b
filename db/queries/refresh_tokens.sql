-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, family_expires_at)
VALUES (@id, @user_id, @family_id, @token_hash, @expires_at, @family_expires_at);

-- name: GetRefreshTokenByHash :one
SELECT * FROM refresh_tokens WHERE token_hash = @token_hash;

-- name: MarkRefreshTokenRotated :execrows
-- Marks a token as used exactly once; zero rows means someone else rotated it first.
UPDATE refresh_tokens SET rotated_at = now()
WHERE id = @id AND rotated_at IS NULL AND revoked_at IS NULL;

-- name: RevokeRefreshTokenFamily :exec
UPDATE refresh_tokens SET revoked_at = now()
WHERE family_id = @family_id AND revoked_at IS NULL;

-- name: RevokeUserRefreshTokens :exec
UPDATE refresh_tokens SET revoked_at = now()
WHERE user_id = @user_id AND revoked_at IS NULL;

-- name: DeleteExpiredRefreshTokens :execrows
DELETE FROM refresh_tokens WHERE expires_at < @before;
