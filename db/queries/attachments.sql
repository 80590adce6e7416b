-- name: CreateAttachment :exec
-- A pending attachment: the member may now upload its object.
INSERT INTO attachments (id, group_id, uploader_id, object_key, name, content_type, size_bytes, created_at)
VALUES (@id, @group_id, @uploader_id, @object_key, @name, @content_type, @size_bytes, @created_at);

-- name: GroupAttachmentBytes :one
-- The bytes a group's attachments take or may take (pending uploads count), for its quota.
SELECT coalesce(sum(size_bytes), 0)::bigint FROM attachments WHERE group_id = @group_id;

-- name: GetAttachment :one
SELECT * FROM attachments WHERE id = @id;

-- name: CompleteAttachment :one
-- Records what the check found; an attachment completed already keeps its first result.
UPDATE attachments
SET completed_at = @completed_at, width = @width, height = @height,
    thumb_key = @thumb_key, thumb_width = @thumb_width, thumb_height = @thumb_height
WHERE id = @id AND completed_at IS NULL
RETURNING *;

-- name: AttachmentMessageState :one
-- Whether any stored message carries the attachment, and whether any that does is not
-- deleted: an attachment of deleted messages only is gone for its readers.
SELECT EXISTS (SELECT 1 FROM message_attachments ma JOIN messages m ON m.id = ma.message_id
               WHERE ma.attachment_id = @id)::boolean AS carried,
       EXISTS (SELECT 1 FROM message_attachments ma JOIN messages m ON m.id = ma.message_id
               WHERE ma.attachment_id = @id AND m.deleted_at IS NULL)::boolean AS shown;

-- name: DeleteAttachment :execrows
-- Forgets an attachment whose objects are deleted, with its links to messages.
WITH links AS (DELETE FROM message_attachments WHERE attachment_id = @id)
DELETE FROM attachments WHERE id = @id;

-- name: ListGroupAttachments :many
SELECT * FROM attachments WHERE group_id = @group_id ORDER BY id LIMIT @max_rows;

-- name: ListDisposableAttachments :many
-- Attachments whose objects may go: not carried by any stored message and asked for
-- before @unreferenced_before (the upload window and the time to send are over), carried
-- only by deleted messages, or of a group that no longer exists.
SELECT a.* FROM attachments a
WHERE (a.created_at < @unreferenced_before
       AND NOT EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.attachment_id = a.id))
   OR NOT EXISTS (SELECT 1 FROM chat_groups g WHERE g.id = a.group_id)
   OR (EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.attachment_id = a.id)
       AND NOT EXISTS (SELECT 1 FROM message_attachments ma JOIN messages m ON m.id = ma.message_id
                       WHERE ma.attachment_id = a.id AND m.deleted_at IS NULL))
ORDER BY a.created_at
LIMIT @max_rows;

-- name: InsertMessageAttachments :execrows
-- Links stored messages to the attachments they carry (the persister, in the transaction
-- that stores them). A link whose message row does not exist (a duplicate that was not
-- stored) is not written; links written before change nothing.
INSERT INTO message_attachments (message_id, attachment_id, group_id, position)
SELECT n.message_id, n.attachment_id, n.group_id, n.position
FROM (SELECT unnest(@message_ids::text[])::uuid AS message_id, unnest(@attachment_ids::text[])::uuid AS attachment_id,
             unnest(@group_ids::text[])::uuid AS group_id, unnest(@positions::smallint[]) AS position) AS n
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = n.message_id AND m.group_id = n.group_id)
ON CONFLICT DO NOTHING;

-- name: ListMessageAttachments :many
-- The completed attachments of the given messages of a group, in each message's order.
SELECT ma.message_id, a.* FROM message_attachments ma
JOIN attachments a ON a.id = ma.attachment_id AND a.group_id = ma.group_id
WHERE ma.group_id = @group_id AND ma.message_id = ANY(@message_ids::uuid[]) AND a.completed_at IS NOT NULL
ORDER BY ma.message_id, ma.position;
