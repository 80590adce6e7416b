-- +goose Up
-- messages.group_id was a foreign key to chat_groups. PostgreSQL checks a foreign key with
-- one lookup-and-lock query per inserted row, which took about 45% of the server's CPU in
-- the persister's batch inserts, the hottest write path we have. These statement-level
-- triggers keep the same guarantees at one check per distinct group per statement:
--   * a message can only be stored for a group that exists (SQLSTATE 23503, as before);
--   * the group is locked FOR KEY SHARE until the inserting transaction ends, exactly as
--     the foreign key locked it, so a concurrent delete of the group either waits for the
--     insert and then deletes its messages, or wins and makes the insert fail;
--   * deleting a group deletes its messages, as ON DELETE CASCADE did.
ALTER TABLE messages DROP CONSTRAINT messages_group_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION messages_check_group() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing uuid;
BEGIN
    -- Lock first and compare after: under READ COMMITTED a group deleted concurrently is
    -- skipped by the lock, so it is reported missing instead of leaving orphaned rows.
    WITH wanted AS (SELECT DISTINCT group_id FROM new_rows),
         locked AS (SELECT g.id FROM chat_groups g WHERE g.id IN (SELECT group_id FROM wanted) FOR KEY SHARE)
    SELECT w.group_id INTO missing
    FROM wanted w
    WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = w.group_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "messages" violates foreign key constraint "messages_group_id_fkey"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (group_id)=(%s) is not present in table "chat_groups".', missing);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER messages_check_group_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_check_group();
CREATE TRIGGER messages_check_group_update AFTER UPDATE ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_check_group();

-- +goose StatementBegin
CREATE FUNCTION chat_groups_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM messages m USING old_rows o WHERE m.group_id = o.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER chat_groups_delete_messages AFTER DELETE ON chat_groups
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chat_groups_delete_messages();

-- +goose Down
DROP TRIGGER chat_groups_delete_messages ON chat_groups;
DROP FUNCTION chat_groups_delete_messages();
DROP TRIGGER messages_check_group_update ON messages;
DROP TRIGGER messages_check_group_insert ON messages;
DROP FUNCTION messages_check_group();
ALTER TABLE messages ADD CONSTRAINT messages_group_id_fkey
    FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE;
