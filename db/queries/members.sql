-- name: CreateMember :one
INSERT INTO group_members (id, group_id, user_id, display_name, name_key, guest_key_hash)
VALUES (@id, @group_id, sqlc.narg(user_id), @display_name, NULLIF(@name_key::text, ''), sqlc.narg(guest_key_hash))
RETURNING *;

-- name: CreateMemberWithPasscode :one
-- Adds a member who proved the group's passcode, but only while the group's passcode hash
-- is still the one checked: no row comes back when it changed (or the group is gone). FOR
-- SHARE waits for a passcode change in progress, whose transaction then sees this member
-- and removes it when it removes the guests.
INSERT INTO group_members (id, group_id, user_id, display_name, name_key, guest_key_hash)
SELECT @id, g.id, sqlc.narg(user_id), @display_name, NULLIF(@name_key::text, ''), sqlc.narg(guest_key_hash)
FROM chat_groups g
WHERE g.id = @group_id AND g.passcode_hash = @passcode_hash
FOR SHARE
RETURNING *;

-- name: GetMember :one
SELECT * FROM group_members WHERE id = @id;

-- name: GetMemberByUser :one
SELECT * FROM group_members WHERE group_id = @group_id AND user_id = @user_id;

-- name: GetMemberByGuestKey :one
SELECT * FROM group_members WHERE group_id = @group_id AND guest_key_hash = @guest_key_hash;

-- name: ListMembers :many
SELECT * FROM group_members WHERE group_id = @group_id ORDER BY created_at, id;

-- name: ListMembersAfter :many
-- One page of a group's members in joining order, after the member that joined at
-- (after_created_at, after_id).
SELECT * FROM group_members
WHERE group_id = @group_id AND (created_at, id) > (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at, id
LIMIT @max_rows;

-- name: TouchMember :one
-- Records that the member was seen (a join or a token renewal); passcode also restarts
-- its membership age (a join with the passcode).
UPDATE group_members
SET last_seen_at = @now,
    passcode_at = CASE WHEN @passcode::boolean THEN @now ELSE passcode_at END
WHERE id = @id
RETURNING *;

-- name: DeleteMember :one
DELETE FROM group_members WHERE group_id = @group_id AND id = @id RETURNING *;

-- name: DeleteGuestMembers :many
-- Ends every guest membership of a group (a passcode change).
DELETE FROM group_members WHERE group_id = @group_id AND user_id IS NULL RETURNING id;

-- name: ListGuestMemberIDs :many
SELECT id FROM group_members WHERE group_id = @group_id AND user_id IS NULL;

-- name: CountMessagesBySender :many
SELECT sender_id, count(*) AS messages FROM messages
WHERE group_id = @group_id AND sender_id = ANY(@sender_ids::uuid[])
GROUP BY sender_id;
