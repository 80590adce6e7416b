-- name: CreateUser :one
INSERT INTO users (id, email, name, password_hash, oidc_issuer, oidc_subject)
VALUES (@id, @email, @name, sqlc.narg(password_hash), sqlc.narg(oidc_issuer), sqlc.narg(oidc_subject))
RETURNING *;

-- name: GetUserByID :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = @email;

-- name: GetUserByOIDC :one
SELECT * FROM users WHERE oidc_issuer = @oidc_issuer AND oidc_subject = @oidc_subject;

-- name: ClaimUserForOIDC :one
-- Links an external identity to an account that has none and removes its password, in
-- one step; no row means the account is gone or already linked.
UPDATE users SET oidc_issuer = @oidc_issuer, oidc_subject = @oidc_subject, password_hash = NULL
WHERE id = @id AND oidc_issuer IS NULL
RETURNING *;
