-- name: CreateGroup :one
INSERT INTO chat_groups (id, owner_id, title, passcode_hash)
VALUES (@id, @owner_id, @title, @passcode_hash)
RETURNING *;

-- name: LockGroupOwner :one
-- Serializes group creation per owner, so counting the owner's groups and inserting one
-- cannot race; NO KEY UPDATE leaves foreign-key checks on the row unblocked.
SELECT id FROM users WHERE id = @id FOR NO KEY UPDATE;

-- name: CountGroupsByOwner :one
SELECT count(*) FROM chat_groups WHERE owner_id = @owner_id;

-- name: GetGroup :one
SELECT * FROM chat_groups WHERE id = @id;

-- name: ListGroupsByOwner :many
SELECT * FROM chat_groups WHERE owner_id = @owner_id ORDER BY created_at DESC, id DESC;

-- name: UpdateGroup :one
UPDATE chat_groups
SET title = coalesce(sqlc.narg(title), title),
    passcode_hash = coalesce(sqlc.narg(passcode_hash), passcode_hash),
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: DeleteGroup :execrows
DELETE FROM chat_groups WHERE id = @id;
