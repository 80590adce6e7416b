-- +goose Up
-- Membership and moderation (issue 14). A membership ends by deleting its row (removal,
-- ban, leave, passcode rotation); a later join creates a new member id, so realtime only
-- needs "member X of room R is revoked" marks.

-- name_key is the display name folded for comparison (NFKC, case-folded, whitespace runs
-- collapsed; the gateway computes it). Display names are unique per group among current
-- members through it. Rows stored before this migration get lower(NFKC(name)); where
-- several members of a group already shared a name, only the earliest keeps a key (NULLs
-- never collide), so the migration never renames anyone.
-- guest_key_hash is the SHA-256 of the secret a guest gets on its first join and sends
-- back on later ones: it ties the guest's joins together, so a ban can hold it out.
-- last_seen_at is the member's last join or token renewal; passcode_at its last join with
-- the passcode, from which the guests' absolute membership age counts.
ALTER TABLE group_members
    ADD COLUMN name_key       text,
    ADD COLUMN guest_key_hash bytea,
    ADD COLUMN last_seen_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN passcode_at    timestamptz NOT NULL DEFAULT now();
UPDATE group_members SET last_seen_at = created_at, passcode_at = created_at;
WITH ranked AS (
    SELECT id, row_number() OVER (
        PARTITION BY group_id, lower(normalize(display_name, NFKC)) ORDER BY created_at, id) AS n
    FROM group_members
)
UPDATE group_members m SET name_key = lower(normalize(m.display_name, NFKC))
FROM ranked r WHERE r.id = m.id AND r.n = 1;
CREATE UNIQUE INDEX group_members_name_key ON group_members (group_id, name_key);
CREATE UNIQUE INDEX group_members_guest_key ON group_members (group_id, guest_key_hash)
    WHERE guest_key_hash IS NOT NULL;

-- Bans outlive the membership they ended. A ban of an account holds its user id out of the
-- group; a ban of a guest holds its guest key hash out (guests who joined before guest
-- keys existed are held out by nothing but their old member id).
CREATE TABLE group_bans (
    id             uuid PRIMARY KEY,
    group_id       uuid NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    member_id      uuid NOT NULL,
    user_id        uuid REFERENCES users (id) ON DELETE CASCADE,
    guest_key_hash bytea,
    display_name   text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX group_bans_group_idx ON group_bans (group_id, created_at, id);
CREATE INDEX group_bans_user_idx ON group_bans (group_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX group_bans_guest_key_idx ON group_bans (group_id, guest_key_hash)
    WHERE guest_key_hash IS NOT NULL;

-- Whether the sender was a guest when the message was sent (the member token's gst
-- claim). Adding a column with a constant default rewrites no rows.
ALTER TABLE messages ADD COLUMN sender_guest boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE messages DROP COLUMN sender_guest;
DROP TABLE group_bans;
DROP INDEX group_members_guest_key;
DROP INDEX group_members_name_key;
ALTER TABLE group_members
    DROP COLUMN passcode_at,
    DROP COLUMN last_seen_at,
    DROP COLUMN guest_key_hash,
    DROP COLUMN name_key;
