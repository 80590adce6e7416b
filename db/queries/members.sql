-- name: CreateMember :one
INSERT INTO group_members (id, group_id, user_id, display_name)
VALUES (@id, @group_id, sqlc.narg(user_id), @display_name)
RETURNING *;

-- name: GetMember :one
SELECT * FROM group_members WHERE id = @id;

-- name: GetMemberByUser :one
SELECT * FROM group_members WHERE group_id = @group_id AND user_id = @user_id;

-- name: ListMembers :many
SELECT * FROM group_members WHERE group_id = @group_id ORDER BY created_at, id;
