-- name: InsertMessages :execrows
-- Set-based batch insert used by the persister. Rows whose id or (group, sender, client id)
-- already exist are skipped, so redelivered and retried messages are stored once.
-- A message whose deletion is already recorded (the deletion was consumed first) is stored
-- deleted: body cleared, deleted_at/deleted_by from the deletion. The lateral join is a
-- nested loop over the batch, so rows are still inserted in batch order (the first of two
-- duplicates wins), and costs one probe of message_deletions' small primary key per row.
-- The ids travel as text and are cast here: pgx encodes a text[] directly, while it encodes
-- a []uuid.UUID through database/sql's Valuer one element at a time, which had been 40% of
-- the persister's CPU.
INSERT INTO messages (id, group_id, sender_id, sender_name, client_msg_id, body, created_at, sender_guest,
                      deleted_at, deleted_by)
SELECT n.id, n.group_id, n.sender_id, n.sender_name, n.client_msg_id,
       CASE WHEN d.deleted_at IS NULL THEN n.body ELSE '' END, n.created_at, n.sender_guest,
       d.deleted_at, d.deleted_by
FROM (SELECT unnest(@ids::text[])::uuid AS id, unnest(@group_ids::text[])::uuid AS group_id,
             unnest(@sender_ids::text[])::uuid AS sender_id, unnest(@sender_names::text[]) AS sender_name,
             unnest(@client_msg_ids::text[]) AS client_msg_id, unnest(@bodies::text[]) AS body,
             unnest(@created_ats::timestamptz[]) AS created_at, unnest(@sender_guests::boolean[]) AS sender_guest) AS n
LEFT JOIN LATERAL (SELECT md.deleted_at, md.deleted_by FROM message_deletions md
                   WHERE md.group_id = n.group_id AND md.message_id = n.id) AS d ON true
ON CONFLICT DO NOTHING;

-- name: InsertNewMessages :execrows
-- InsertMessages for a batch expected to hold only new messages, the usual case: without
-- ON CONFLICT, PostgreSQL skips the speculative-insertion probes of both unique indexes,
-- which makes the insert markedly cheaper. A batch with any stored message fails with a
-- unique violation and is retried with InsertMessages.
INSERT INTO messages (id, group_id, sender_id, sender_name, client_msg_id, body, created_at, sender_guest,
                      deleted_at, deleted_by)
SELECT n.id, n.group_id, n.sender_id, n.sender_name, n.client_msg_id,
       CASE WHEN d.deleted_at IS NULL THEN n.body ELSE '' END, n.created_at, n.sender_guest,
       d.deleted_at, d.deleted_by
FROM (SELECT unnest(@ids::text[])::uuid AS id, unnest(@group_ids::text[])::uuid AS group_id,
             unnest(@sender_ids::text[])::uuid AS sender_id, unnest(@sender_names::text[]) AS sender_name,
             unnest(@client_msg_ids::text[]) AS client_msg_id, unnest(@bodies::text[]) AS body,
             unnest(@created_ats::timestamptz[]) AS created_at, unnest(@sender_guests::boolean[]) AS sender_guest) AS n
LEFT JOIN LATERAL (SELECT md.deleted_at, md.deleted_by FROM message_deletions md
                   WHERE md.group_id = n.group_id AND md.message_id = n.id) AS d ON true;

-- name: InsertMessage :execrows
-- One row per statement: the seed's way, kept as the benchmark baseline. Unlike
-- InsertMessages it ignores recorded deletions, so the persister never uses it.
INSERT INTO messages (id, group_id, sender_id, sender_name, client_msg_id, body, created_at, sender_guest)
VALUES (@id, @group_id, @sender_id, @sender_name, @client_msg_id, @body, @created_at, @sender_guest)
ON CONFLICT DO NOTHING;

-- name: ListMessagesBefore :many
-- Newest first, strictly older than the cursor (use the max UUID for "latest").
SELECT * FROM messages
WHERE group_id = @group_id AND id < @before
ORDER BY id DESC
LIMIT @max_rows;

-- name: ListMessagesAfter :many
-- Oldest first, strictly newer than the cursor.
SELECT * FROM messages
WHERE group_id = @group_id AND id > @after
ORDER BY id ASC
LIMIT @max_rows;

-- name: InsertDeletion :execrows
-- Records a deletion; a second deletion of the same message (or the same event again)
-- changes nothing, so the first deletion wins.
INSERT INTO message_deletions (message_id, group_id, deleted_by, deleted_at, event_id)
VALUES (@message_id, @group_id, @deleted_by, @deleted_at, @event_id)
ON CONFLICT DO NOTHING;

-- name: ApplyDeletion :execrows
-- Clears a stored message by the deletion recorded for it (the first one, which may not be
-- the caller's), once: a message already deleted is left alone. A message not stored yet
-- is deleted when it is inserted (InsertMessages).
UPDATE messages m
SET body = '', deleted_at = d.deleted_at, deleted_by = d.deleted_by
FROM message_deletions d
WHERE d.group_id = @group_id AND d.message_id = @message_id
  AND m.id = d.message_id AND m.group_id = d.group_id AND m.deleted_at IS NULL;

-- name: CountMessages :one
SELECT count(*) FROM messages WHERE group_id = @group_id;
