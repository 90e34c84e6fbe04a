-- CPx cards linked to accounts (issue 3). A card is identified by its authentication
-- certificate (issuer + serial); the holder by the national identifier (IdNat_PS) in its subject,
-- which survives card renewals while serial and key change.
CREATE TABLE cards (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- IdNat_PS: '8' + RPPS, '0' + ADELI, or a structure-bound '3…/…' identifier.
    national_id        text NOT NULL CHECK (length(national_id) BETWEEN 2 AND 64),
    card_type          text NOT NULL CHECK (card_type IN ('CPS', 'CPE')),
    issuer_dn          text NOT NULL,
    -- Lowercase hex of the certificate's serial number.
    serial             text NOT NULL CHECK (serial ~ '^[0-9a-f]{1,64}$'),
    subject_dn         text NOT NULL,
    holder_name        text NOT NULL,
    fingerprint_sha256 text NOT NULL CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'),
    not_before         timestamptz NOT NULL,
    not_after          timestamptz NOT NULL,
    -- 'password': the one-time linking with the account's password; 'renewal': a new card of a
    -- holder whose previous card was linked.
    linked_via         text NOT NULL CHECK (linked_via IN ('password', 'renewal')),
    linked_at          timestamptz NOT NULL,
    last_used_at       timestamptz,
    unlinked_at        timestamptz,
    unlinked_by        uuid REFERENCES users(id) ON DELETE SET NULL,
    CHECK (unlinked_by IS NULL OR unlinked_at IS NOT NULL)
);
-- A certificate is linked to at most one account at a time; an unlinked card may be linked again.
CREATE UNIQUE INDEX cards_linked_certificate_key ON cards (issuer_dn, serial) WHERE unlinked_at IS NULL;
CREATE INDEX cards_national_id_idx ON cards (national_id) WHERE unlinked_at IS NULL;
CREATE INDEX cards_user_idx ON cards (user_id);

-- Single-use challenges for the local agent: the browser asks for one, the card signs
-- SHA-256(origin) || SHA-256(nonce). Only the nonce's hash is kept, bound to the browser (hash of
-- its form-token cookie) so a nonce obtained by one browser is useless in another.
CREATE TABLE card_challenges (
    nonce_hash   bytea PRIMARY KEY CHECK (length(nonce_hash) = 32),
    browser_hash bytea NOT NULL CHECK (length(browser_hash) = 32),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX card_challenges_expiry_idx ON card_challenges (expires_at);

-- A validated certificate waiting for something: the one-time linking form ('link'), or the
-- return from the TLS-terminated card host to the portal ('tls_return'). Single use, short-lived,
-- bound to the browser; the certificate is validated again when the row is used.
CREATE TABLE card_pending (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    purpose      text NOT NULL CHECK (purpose IN ('link', 'tls_return')),
    browser_hash bytea NOT NULL CHECK (length(browser_hash) = 32),
    certificate  bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX card_pending_expiry_idx ON card_pending (expires_at);
