-- Server-side sessions. The cookie carries a random token; only its SHA-256 is stored, so a copy of
-- the database does not hand out live sessions.
CREATE TABLE sessions (
    token_hash          bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id             uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_method         text NOT NULL,
    created_at          timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    -- Absolute lifetime fixed at sign-in; the idle limit is applied against last_seen_at.
    absolute_expires_at timestamptz NOT NULL,
    establishment_id    uuid REFERENCES establishments(id) ON DELETE SET NULL,
    ip                  text,
    user_agent          text,
    ended_at            timestamptz,
    end_reason          text CHECK (end_reason IN ('logout', 'idle_timeout', 'absolute_timeout', 'rotated', 'admin', 'password_reset'))
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE ended_at IS NULL;

-- Failure counters for guessable secrets, keyed by scope (the account's normalised username, the
-- client address…). Unknown usernames get rows too, so that the lockout answer is the same whether
-- or not the account exists. Every change is a single atomic UPDATE/UPSERT: parallel guesses cannot
-- read a stale count and slip past the limit.
CREATE TABLE auth_throttle (
    scope             text NOT NULL CHECK (scope IN ('account', 'address')),
    key               text NOT NULL,
    -- Attempts in the current window, counted BEFORE the secret is verified (an attempt claims a
    -- slot; a success gives it back).
    attempts          integer NOT NULL CHECK (attempts >= 0),
    window_started_at timestamptz NOT NULL,
    locked_until      timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX auth_throttle_window_idx ON auth_throttle (window_started_at);
