-- +goose Up
-- Failed attempts at a secret (group passcodes) per key, for exponential back-off shared
-- by every gateway replica: failures counts the failures since the key was last quiet for
-- the back-off's memory, last_failure_us is the newest one (microseconds since the Unix
-- epoch) and expires_us is when the row stops mattering, so the janitor may delete it.
CREATE TABLE failed_attempts (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_us bigint NOT NULL,
    expires_us      bigint NOT NULL
);
CREATE INDEX failed_attempts_expires_idx ON failed_attempts (expires_us);

-- Client addresses (as rate-limit keys, IPv6 per /64) an account signed in from with its
-- password recently. Sign-ins from them are spared the per-account ceiling, so nobody can
-- lock the owner out by failing sign-ins from elsewhere.
CREATE TABLE sign_in_addresses (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client     text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client)
);
CREATE INDEX sign_in_addresses_expires_idx ON sign_in_addresses (expires_at);

-- The absolute end of a session: every token rotated from one sign-in carries the same
-- family_expires_at, and no rotation extends a token past it. Existing sessions end when
-- their current token does. The default keeps replicas that predate this column working
-- during a rolling upgrade (their sessions get 30 days).
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at timestamptz;
UPDATE refresh_tokens SET family_expires_at = expires_at;
ALTER TABLE refresh_tokens ALTER COLUMN family_expires_at SET DEFAULT now() + interval '30 days';
ALTER TABLE refresh_tokens ALTER COLUMN family_expires_at SET NOT NULL;

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN family_expires_at;
DROP TABLE sign_in_addresses;
DROP TABLE failed_attempts;
