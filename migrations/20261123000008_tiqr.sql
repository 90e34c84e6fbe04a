-- TIQR: enrollments of the TIQR app (one per phone), the enrollment hand-shake, and QR sign-ins.
-- The protocol's quirks are in shared/tiqr-protocol.md; the flows in domain/src/auth/tiqr/.

CREATE TYPE tiqr_state AS ENUM ('active', 'blocked', 'revoked');

CREATE TABLE tiqr_enrollments (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The opaque identifier the app knows the account by (its `userId`). Random per enrollment,
    -- never the username: '@' or '+' break the apps, and a fresh one avoids their duplicate
    -- refusal when a phone enrolls again. At least 80 bits.
    identity        text NOT NULL CHECK (identity ~ '^[a-z0-9]{20,64}$'),
    -- Shown on the user's security page and to the desk ("Téléphone de 2026"…).
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 60),
    -- The OCRA secret, sealed with the server's key (XChaCha20-Poly1305, the enrollment id as
    -- associated data, so a ciphertext copied onto another row does not open). Erased on revoke.
    secret_nonce    bytea CHECK (length(secret_nonce) = 24),
    secret_sealed   bytea,
    state           tiqr_state NOT NULL DEFAULT 'active',
    -- Wrong responses since the last right one, counted BEFORE the response is verified (an
    -- attempt claims a slot with one atomic UPDATE), so parallel guesses cannot pass the limit.
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    blocked_at      timestamptz,
    revoked_at      timestamptz,
    revoked_by      uuid REFERENCES users(id) ON DELETE SET NULL,
    -- The administrator who started the enrollment at the desk (NULL: the user themself).
    enrolled_by     uuid REFERENCES users(id) ON DELETE SET NULL,
    CONSTRAINT tiqr_enrollments_identity_key UNIQUE (identity),
    CHECK ((state = 'revoked') = (revoked_at IS NOT NULL)),
    CHECK (state = 'revoked' OR (secret_nonce IS NOT NULL AND secret_sealed IS NOT NULL)),
    CHECK (state <> 'blocked' OR blocked_at IS NOT NULL)
);
CREATE INDEX tiqr_enrollments_user_idx ON tiqr_enrollments (user_id, created_at);

-- The enrollment hand-shake: the browser shows `tiqrenroll://<metadata URL>?key=…`; the app
-- fetches the metadata once (the key is erased when served) and gets a second one-time secret in
-- `enrollmentUrl`, to which it posts its OCRA secret. Only SHA-256 hashes of the two secrets are
-- kept: the app sends each back, so the server never needs them in clear.
CREATE TYPE tiqr_enrollment_status AS ENUM ('initialized', 'retrieved', 'processed', 'finalized');

CREATE TABLE tiqr_enrollment_starts (
    id                     uuid PRIMARY KEY,
    user_id                uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The browser that shows the QR and polls the status (hash of its secret cookie).
    browser_hash           bytea NOT NULL CHECK (length(browser_hash) = 32),
    status                 tiqr_enrollment_status NOT NULL DEFAULT 'initialized',
    metadata_key_hash      bytea UNIQUE CHECK (length(metadata_key_hash) = 32),
    expires_at             timestamptz NOT NULL,
    -- Made when the metadata is served, with the second secret.
    identity               text CHECK (identity ~ '^[a-z0-9]{20,64}$'),
    enrollment_secret_hash bytea UNIQUE CHECK (length(enrollment_secret_hash) = 32),
    secret_expires_at      timestamptz,
    enrollment_id          uuid REFERENCES tiqr_enrollments(id) ON DELETE CASCADE,
    -- The administrator who started it at the desk (NULL: the user on their own security page).
    started_by             uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at             timestamptz NOT NULL,
    -- Single use: the metadata key is gone once served, the enrollment secret once used.
    CHECK (status = 'initialized' OR metadata_key_hash IS NULL),
    CHECK (status <> 'retrieved' OR (enrollment_secret_hash IS NOT NULL AND identity IS NOT NULL)),
    CHECK (status NOT IN ('processed', 'finalized') OR (enrollment_secret_hash IS NULL AND enrollment_id IS NOT NULL))
);
CREATE INDEX tiqr_enrollment_starts_browser_idx ON tiqr_enrollment_starts (browser_hash);
CREATE INDEX tiqr_enrollment_starts_expiry_idx ON tiqr_enrollment_starts (expires_at);

-- QR sign-ins: `tiqrauth://[identity@]host/<session_key>/<challenge>/<sp>/2`. Both values are in
-- the QR for anyone who sees the screen, and both are needed in clear to compute the OCRA
-- response (the offline form has only the browser's cookie and the code, not the session key),
-- so they are stored as they are; they live 180 s. What proves the browser is its cookie's hash,
-- never the session key.
CREATE TABLE tiqr_sign_ins (
    session_key     text PRIMARY KEY CHECK (session_key ~ '^[0-9a-f]{32}$'),
    challenge       text NOT NULL CHECK (challenge ~ '^[0-9a-f]{10}$'),
    browser_hash    bytea NOT NULL CHECK (length(browser_hash) = 32),
    -- Set when the QR names the identity: only that enrollment may answer.
    enrollment_id   uuid REFERENCES tiqr_enrollments(id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    -- A right response: who it was. A wrong one changes nothing here (the user retries the PIN
    -- on the same QR); the right one makes the QR used.
    verified_at     timestamptz,
    verified_user   uuid REFERENCES users(id) ON DELETE CASCADE,
    verified_enrollment uuid REFERENCES tiqr_enrollments(id) ON DELETE CASCADE,
    -- The browser picked the result up and got its session: the row is spent.
    consumed_at     timestamptz,
    CHECK ((verified_at IS NULL) = (verified_user IS NULL)),
    CHECK (consumed_at IS NULL OR verified_at IS NOT NULL)
);
CREATE INDEX tiqr_sign_ins_browser_idx ON tiqr_sign_ins (browser_hash);
CREATE INDEX tiqr_sign_ins_expiry_idx ON tiqr_sign_ins (expires_at);
