-- +goose Up
-- Attachments (issue 16): files in S3-compatible object storage that messages carry.
-- A row is written when a member asks to upload (completed_at NULL: the store may or may
-- not hold the object yet) and completed once the gateway has checked the object (size,
-- sniffed type, image dimensions, thumbnail). object_key and thumb_key name the objects.
-- group_id has no foreign key on purpose: deleting a group must not lose the keys of its
-- objects, which the gateway's janitor deletes for attachments whose group is gone.
CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    group_id     uuid NOT NULL,
    uploader_id  uuid NOT NULL,
    object_key   text NOT NULL,
    name         text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    created_at   timestamptz NOT NULL,
    completed_at timestamptz,
    width        integer NOT NULL DEFAULT 0,
    height       integer NOT NULL DEFAULT 0,
    thumb_key    text,
    thumb_width  integer NOT NULL DEFAULT 0,
    thumb_height integer NOT NULL DEFAULT 0
);
CREATE INDEX attachments_group_idx ON attachments (group_id);
CREATE INDEX attachments_created_idx ON attachments (created_at);

-- Which stored message carries which attachment, written by the persister in the
-- transaction that stores the message (only for a message row that exists). position is
-- the attachment's place in the message. A message's attachments are shown while the
-- message is not deleted; an attachment no undeleted message carries any more is deleted
-- by the janitor, as is one that no message carried within its upload window.
CREATE TABLE message_attachments (
    message_id    uuid NOT NULL,
    attachment_id uuid NOT NULL,
    group_id      uuid NOT NULL,
    position      smallint NOT NULL,
    PRIMARY KEY (message_id, attachment_id)
);
CREATE INDEX message_attachments_attachment_idx ON message_attachments (attachment_id);

-- +goose Down
DROP TABLE message_attachments;
DROP TABLE attachments;
