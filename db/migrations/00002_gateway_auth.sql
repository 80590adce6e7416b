-- +goose Up
-- Abuse limits shared by every gateway replica. One row per limited key (for example
-- "join:ip:192.0.2.7"); tat_us is the GCRA "theoretical arrival time" in microseconds
-- since the Unix epoch. A row whose tat_us is in the past is the same as no row, so idle
-- rows can be deleted at any time.
CREATE TABLE rate_limits (
    key    text PRIMARY KEY,
    tat_us bigint NOT NULL
);
CREATE INDEX rate_limits_tat_idx ON rate_limits (tat_us);

-- OIDC sign-ins in progress, so any replica can finish a sign-in another one started.
-- Keyed by a hash of the state parameter; each row is consumed exactly once.
CREATE TABLE oidc_logins (
    state_hash    bytea PRIMARY KEY,
    nonce         text NOT NULL,
    pkce_verifier text NOT NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_logins_expires_idx ON oidc_logins (expires_at);

CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- +goose Down
DROP INDEX refresh_tokens_expires_idx;
DROP TABLE oidc_logins;
DROP TABLE rate_limits;
