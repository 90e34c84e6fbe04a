-- Pro Santé Connect (issue 8): the OpenID Connect flows in progress, the PSC identities linked to
-- accounts, the one-time linking shared with cards, and back-channel logout.

-- An authorization request waiting for its callback. Keyed by the SHA-256 of `state` (the value in
-- the URL is never stored), bound to the browser (SHA-256 of a random cookie set when the flow
-- starts), consumed by DELETE … RETURNING (single use), valid 10 minutes. In Postgres so that any
-- instance behind the load balancer can finish a flow another one started.
CREATE TABLE psc_flows (
    state_hash    bytea PRIMARY KEY CHECK (length(state_hash) = 32),
    browser_hash  bytea NOT NULL CHECK (length(browser_hash) = 32),
    -- Compared with the ID token's `nonce` claim, and the PKCE S256 verifier sent with the code:
    -- both must be known in clear to finish the flow; they die with the row.
    nonce         text NOT NULL CHECK (length(nonce) BETWEEN 22 AND 128),
    pkce_verifier text NOT NULL CHECK (length(pkce_verifier) BETWEEN 43 AND 128),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX psc_flows_expiry_idx ON psc_flows (expires_at);

-- A PSC identity (national identifier IdNat_PS, PSC's `SubjectNameID`) linked to an account after
-- the one-time linking. The same key as the cards' `national_id`: `auth::identity` reads both, so a
-- professional whose card is linked signs in through PSC without linking again, and an identity
-- linked through one means cannot be linked to another account through the other. Never PSC's
-- `sub`, which is the provider's internal broker identifier.
CREATE TABLE psc_identities (
    national_id  text PRIMARY KEY CHECK (length(national_id) BETWEEN 2 AND 64),
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    given_name   text NOT NULL DEFAULT '',
    family_name  text NOT NULL DEFAULT '',
    linked_at    timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX psc_identities_user_idx ON psc_identities (user_id);

-- The one-time linking of an identity not yet linked to any account, shared by the card and PSC
-- sign-ins: the page asks for the account's username and password, then links. Only the token's
-- hash is kept, bound to the browser, valid 10 minutes; consumed when the link is made.
CREATE TABLE pending_links (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    browser_hash bytea NOT NULL CHECK (length(browser_hash) = 32),
    means        text NOT NULL CHECK (means IN ('card', 'psc')),
    national_id  text NOT NULL CHECK (length(national_id) BETWEEN 2 AND 64),
    -- The card's certificate (validated again when the row is used), or what PSC said about the
    -- holder and the sign-in (claims already verified: ID token signature, nonce…).
    certificate  bytea,
    psc_login    jsonb,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    CHECK ((means = 'card') = (certificate IS NOT NULL)),
    CHECK ((means = 'psc') = (psc_login IS NOT NULL))
);
CREATE INDEX pending_links_expiry_idx ON pending_links (expires_at);

-- How the session was authenticated at PSC (recorded for the traceability rules), PSC's session
-- id and subject (back-channel logout names one or the other), and the FINESS numbers PSC declared
-- for the professional (the chooser marks those establishments).
ALTER TABLE sessions
    ADD COLUMN auth_mode text CHECK (length(auth_mode) <= 32),
    ADD COLUMN acr text CHECK (length(acr) <= 64),
    ADD COLUMN psc_sid text CHECK (length(psc_sid) <= 255),
    ADD COLUMN psc_sub text CHECK (length(psc_sub) <= 255),
    ADD COLUMN declared_finess text[] NOT NULL DEFAULT '{}';
CREATE INDEX sessions_psc_sid_idx ON sessions (psc_sid) WHERE ended_at IS NULL AND psc_sid IS NOT NULL;
CREATE INDEX sessions_psc_sub_idx ON sessions (psc_sub) WHERE ended_at IS NULL AND psc_sub IS NOT NULL;

ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN
    ('logout', 'idle_timeout', 'absolute_timeout', 'rotated', 'admin', 'password_reset', 'backchannel_logout'));

-- Logout tokens already used (`jti`): a replayed one is refused. Kept past the tokens' accepted
-- age, then purged.
CREATE TABLE psc_logout_tokens (
    jti         text PRIMARY KEY CHECK (length(jti) BETWEEN 1 AND 255),
    received_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX psc_logout_tokens_expiry_idx ON psc_logout_tokens (expires_at);
