-- +goose Up
-- The owner deletes a message (issue 14; the delete event of issue 15). A deletion is an
-- event on the room's Kafka partition like a message, so the persister may see it before
-- the message it deletes (a rebalance, a redelivery): every deletion is recorded here and
-- a message inserted later is stored already deleted. The deleted message keeps its row as
-- a tombstone (id, sender, time, deleted_at, deleted_by) but its body is cleared, so the
-- text is gone from storage.
-- (group_id, message_id) is the primary key: the first deletion of a message wins and later
-- ones (another event, or the same one redelivered) change nothing. The group is part of
-- the key because a deletion may name any id: one naming another room's message must
-- neither touch it nor take the place of that room's own deletion. event_id is the
-- deletion event's own id, unique so the same event is recorded once.
-- Deletions are rare, so a plain foreign key to chat_groups is cheap here (unlike on
-- messages, see 00003); deleting a group deletes its deletions.
CREATE TABLE message_deletions (
    message_id uuid NOT NULL,
    group_id   uuid NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    deleted_by uuid NOT NULL,
    deleted_at timestamptz NOT NULL,
    event_id   uuid NOT NULL UNIQUE,
    PRIMARY KEY (group_id, message_id)
);

-- Adding nullable columns without a default rewrites no rows.
ALTER TABLE messages
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN deleted_by uuid;

-- +goose Down
ALTER TABLE messages
    DROP COLUMN deleted_by,
    DROP COLUMN deleted_at;
DROP TABLE message_deletions;
