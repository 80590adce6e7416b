-- name: CreateOIDCLogin :exec
INSERT INTO oidc_logins (state_hash, nonce, pkce_verifier, expires_at)
VALUES (@state_hash, @nonce, @pkce_verifier, @expires_at);

-- name: TakeOIDCLogin :one
-- Consumes a pending sign-in: a state can be redeemed once.
DELETE FROM oidc_logins WHERE state_hash = @state_hash RETURNING *;

-- name: DeleteExpiredOIDCLogins :execrows
DELETE FROM oidc_logins WHERE expires_at < @now;
