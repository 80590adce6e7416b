-- +goose Up
-- Accounts that can sign in (email + password, or an external OIDC identity).
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    -- password_hash is an encoded slow hash; NULL for accounts that only sign in with OIDC.
    password_hash text,
    -- oidc_issuer/oidc_subject identify an external identity linked to this account.
    oidc_issuer   text,
    oidc_subject  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_oidc_key ON users (oidc_issuer, oidc_subject) WHERE oidc_issuer IS NOT NULL;

-- Rotating refresh tokens, stored only as hashes. family_id groups every token that came
-- from one sign-in so that reuse of a rotated token can revoke the whole family.
CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id    uuid NOT NULL,
    token_hash   bytea NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Chat groups (rooms). The passcode is stored only as a slow hash.
CREATE TABLE chat_groups (
    id            uuid PRIMARY KEY,
    owner_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         text NOT NULL,
    passcode_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_groups_owner_idx ON chat_groups (owner_id, created_at DESC);

-- Members of a group: people who joined with the passcode, with or without an account.
CREATE TABLE group_members (
    id           uuid PRIMARY KEY,
    group_id     uuid NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    -- user_id is NULL for guests who joined without an account.
    user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    display_name text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX group_members_group_idx ON group_members (group_id, created_at);
CREATE UNIQUE INDEX group_members_user_key ON group_members (group_id, user_id) WHERE user_id IS NOT NULL;

-- Chat messages, written only by the persister. id is a time-ordered UUIDv7 assigned by the
-- realtime service, so ordering by id is ordering by acceptance time.
CREATE TABLE messages (
    id            uuid PRIMARY KEY,
    group_id      uuid NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    sender_id     uuid NOT NULL,
    sender_name   text NOT NULL,
    client_msg_id text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX messages_group_id_idx ON messages (group_id, id);
-- A sender's retry with the same client id is the same message.
CREATE UNIQUE INDEX messages_client_key ON messages (group_id, sender_id, client_msg_id);

-- +goose Down
DROP TABLE messages;
DROP TABLE group_members;
DROP TABLE chat_groups;
DROP TABLE refresh_tokens;
DROP TABLE users;
