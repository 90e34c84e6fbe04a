-- E-mail one-time codes, activation and password-reset links, and the outbox (issue 4).

-- The deployment can require the e-mail code of everyone; an account can require it on its own.
ALTER TABLE users ADD COLUMN otp_required boolean NOT NULL DEFAULT false;

-- E-mails are written here in the transaction of the change they announce, and sent by a worker
-- after it commits: a failed SMTP server loses nothing and never blocks a request.
CREATE TYPE mail_state AS ENUM ('pending', 'sent', 'abandoned');
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('sign_in_code', 'activation', 'password_reset', 'card_linked', 'password_changed')),
    user_id         uuid REFERENCES users(id) ON DELETE SET NULL,
    recipient       text NOT NULL CHECK (position('@' in recipient) > 1),
    subject         text NOT NULL,
    -- The bodies carry a code or a link until delivered: erased once sent or abandoned.
    text_body       text,
    html_body       text,
    state           mail_state NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    last_error      text,
    CHECK (state = 'pending' OR (text_body IS NULL AND html_body IS NULL))
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE state = 'pending';

-- The second step of a password sign-in: the password was right, the e-mail code is awaited.
-- The browser holds the random token (cookie); only its hash is here. The code is stored as
-- SHA-256(salt || code): it lives minutes and allows a few attempts.
CREATE TABLE sign_in_steps (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash       bytea CHECK (code_hash IS NULL OR length(code_hash) = 32),
    code_salt       bytea,
    code_expires_at timestamptz,
    last_sent_at    timestamptz,
    sends           integer NOT NULL DEFAULT 0,
    -- The e-mail of the latest code, so the page can say when its delivery is delayed.
    last_mail_id    bigint REFERENCES mail_outbox(id) ON DELETE SET NULL,
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sign_in_steps_expiry_idx ON sign_in_steps (expires_at);

-- Single-use links to choose a password: activation of a new account, or reset.
CREATE TABLE account_links (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('activation', 'password_reset')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_links_user_idx ON account_links (user_id, purpose, created_at);
