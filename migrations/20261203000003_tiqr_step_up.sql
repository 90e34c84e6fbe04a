-- Issue 14, H-2 and M-1: adding a TIQR phone asks as much as the front door.
-- The flows are in domain/src/auth/tiqr/ (enrollment.rs, sign_in.rs) and domain/src/admin/tiqr.rs.

-- 1. A phone that posted its secret is not usable yet: the browser that showed the enrolment QR
-- must confirm it with a first TIQR authentication of that phone (a `tiqrauth://` QR naming the
-- new identity, shown only to that browser). Whoever scanned someone else's enrolment QR first
-- thus gets a phone that cannot sign in, and the page never says "registered" for it. NULL: not
-- confirmed yet; a phone not confirmed within 10 minutes never will be (it is revoked when seen).
-- Phones enrolled before this rule were usable at once: they count as confirmed when enrolled.
ALTER TABLE tiqr_enrollments ADD COLUMN activated_at timestamptz;
UPDATE tiqr_enrollments SET activated_at = created_at;
ALTER TABLE tiqr_enrollments
    ADD CONSTRAINT tiqr_enrollments_activated_after_created
    CHECK (activated_at IS NULL OR activated_at >= created_at);

-- The confirmation QR is a sign-in QR that signs nobody in: it names the pending enrollment, is
-- bound to the enrolling browser, and its right answer activates the phone.
ALTER TABLE tiqr_sign_ins ADD COLUMN confirms boolean NOT NULL DEFAULT false;
ALTER TABLE tiqr_sign_ins
    ADD CONSTRAINT tiqr_sign_ins_confirms_names_enrollment
    CHECK (NOT confirms OR enrollment_id IS NOT NULL);

-- 2. The desk enrols a phone only with the holder's proof: a 6-digit code e-mailed to the holder,
-- which the holder reads out and the desk agent types. One code per holder and agent (a new one
-- replaces the previous), 10 minutes, 5 tries (each claimed BEFORE the code is compared, with
-- one atomic UPDATE), single use. Only a salted SHA-256 is kept.
CREATE TABLE tiqr_desk_codes (
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requested_by  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    salt          bytea NOT NULL CHECK (length(salt) = 16),
    code_hash     bytea NOT NULL CHECK (length(code_hash) = 32),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    PRIMARY KEY (user_id, requested_by)
);

-- 3. `authenticated_at` NULL now means "no strong authentication in this session": a sign-in with
-- a phone enrolled in the last hours (`[tiqr] new_phone_hours`) leaves it NULL, so the admin
-- console (and adding another phone) asks for the password first. Sessions of before this rule
-- had NULL for "since sign-in".
UPDATE sessions SET authenticated_at = created_at WHERE authenticated_at IS NULL;

-- 4. The two new e-mails: the holder's "new phone" notice, and the code the holder reads out to
-- the desk. (Merging with other migrations of issue 14 that add kinds: the last one to recreate
-- this constraint must list them all.)
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'sign_in_code', 'activation', 'password_reset', 'card_linked', 'password_changed',
    'psc_linked', 'sign_in_means_removed', 'account_secured',
    'tiqr_phone_added', 'tiqr_desk_code'));
