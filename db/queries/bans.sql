-- name: CreateBan :one
INSERT INTO group_bans (id, group_id, member_id, user_id, guest_key_hash, display_name)
VALUES (@id, @group_id, @member_id, sqlc.narg(user_id), sqlc.narg(guest_key_hash), @display_name)
RETURNING *;

-- name: ListBans :many
SELECT * FROM group_bans WHERE group_id = @group_id ORDER BY created_at, id;

-- name: DeleteBan :execrows
DELETE FROM group_bans WHERE group_id = @group_id AND id = @id;

-- name: IsBanned :one
-- Whether a group holds out the account or the guest key (either may be NULL).
SELECT EXISTS (
    SELECT 1 FROM group_bans
    WHERE group_id = @group_id
      AND (user_id = sqlc.narg(user_id) OR guest_key_hash = sqlc.narg(guest_key_hash))
);
