-- Passkeys and "Mes connexions" (issue 19). Passkeys: WebAuthn credentials registered by the holder from "Mes moyens de
-- connexion", signing in without a username (discoverable credentials). The rules are in
-- domain/src/auth/passkey.rs.
--
-- A passkey row holds no secret: the credential is the authenticator's public key, its signature
-- counter and its flags, as webauthn-rs serialises it. A removed passkey is deleted (its
-- credential id must be free to be registered again); the audit row keeps its name and id.

CREATE TABLE passkeys (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The authenticator's credential id: what a sign-in names. One account per passkey.
    credential_id   bytea NOT NULL UNIQUE CHECK (octet_length(credential_id) BETWEEN 16 AND 1023),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    -- webauthn-rs's `Passkey` (public key, counter, flags), updated after each sign-in.
    credential      jsonb NOT NULL,
    -- The authenticator's signature counter as last seen, kept beside the JSON so that a sign-in
    -- moves it forward only (`WHERE sign_count < new`): of two sign-ins racing with the same
    -- counter (a copied authenticator), one is refused. 0 for the many passkeys without a counter.
    sign_count      bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- A ceremony under way: the state webauthn-rs needs to check the browser's answer (the challenge
-- above all), kept here so that the instance that finishes it need not be the one that started it.
-- Bound to the browser (hash of its form-token cookie, as the card's challenge), one of each kind
-- per browser (a new start replaces it), single use (deleted when the answer comes), a few
-- minutes long.
CREATE TABLE passkey_ceremonies (
    browser_hash    bytea NOT NULL CHECK (octet_length(browser_hash) = 32),
    kind            text NOT NULL CHECK (kind IN ('registration', 'authentication')),
    -- The account a registration is for (the signed-in holder); none for a sign-in.
    user_id         uuid REFERENCES users(id) ON DELETE CASCADE,
    state           jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (browser_hash, kind),
    CHECK ((kind = 'registration') = (user_id IS NOT NULL))
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);

-- The holder is told when a passkey is added (its removal is told by 'sign_in_means_removed').
-- The helper of 20261203000005, again: migrations share one session, where it may exist already.
CREATE OR REPLACE FUNCTION pg_temp.extend_text_check(tbl regclass, con text, extra text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    def text;
    col text;
    vals text[];
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint WHERE conrelid = tbl AND conname = con;
    IF def IS NULL THEN
        RAISE EXCEPTION 'constraint % of % not found', con, tbl;
    END IF;
    col := (regexp_match(def, '\(\(?([a-z_]+) ='))[1];
    SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO vals
    FROM regexp_matches(def, '''([a-z_]+)''', 'g') AS m;
    IF NOT extra = ANY (vals) THEN
        vals := vals || extra;
    END IF;
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, con);
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I = ANY (%L::text[]))', tbl, con, col, vals);
END
$$;

SELECT pg_temp.extend_text_check('mail_outbox', 'mail_outbox_kind_check', 'passkey_added');

-- "Mes connexions": the holder ends one of their own sessions, or all the others.
ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN
    ('logout', 'idle_timeout', 'absolute_timeout', 'rotated', 'admin', 'password_reset',
     'backchannel_logout', 'holder'));

-- New-device alerts: the browsers (a long-lived random cookie, hashed) each account signed in
-- from. A sign-in from one never seen, for an account that used others, e-mails the holder with
-- a « ce n'était pas moi » link (domain/src/auth/devices.rs).
CREATE TABLE known_devices (
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_hash     bytea NOT NULL CHECK (octet_length(device_hash) = 32),
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    user_agent      text CHECK (char_length(user_agent) <= 512),
    PRIMARY KEY (user_id, device_hash)
);

-- The « ce n'était pas moi » links: single use, a week long, only their hash kept. Using one ends
-- the account's sessions and locks it until the desk unlocks it.
CREATE TABLE not_me_links (
    token_hash      bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX not_me_links_user ON not_me_links (user_id) WHERE used_at IS NULL;

SELECT pg_temp.extend_text_check('mail_outbox', 'mail_outbox_kind_check', 'new_device');
ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN
    ('logout', 'idle_timeout', 'absolute_timeout', 'rotated', 'admin', 'password_reset',
     'backchannel_logout', 'holder', 'not_me'));
