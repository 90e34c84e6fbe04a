-- Linking a card or a Pro Santé Connect identity asks as much as signing in with the password
-- (issue 14, H-1): the e-mail code step when the account or the deployment requires it, and, for
-- an account without an RPPS, an identity the desk declared for it.

-- A code step that ends in the one-time linking rather than in a plain sign-in: the pending link
-- it completes (the browser's token is never stored, its hash is the key). The link dies with the
-- step and the step with the link.
ALTER TABLE sign_in_steps
    ADD COLUMN link_token_hash bytea REFERENCES pending_links(token_hash) ON DELETE CASCADE;

-- The national identifier (card or PSC `SubjectNameID`: `8`+RPPS, `0`+ADELI, a structure card's
-- `3`+FINESS/…) that the support desk or an administrator declared for an account that has no
-- RPPS — staff, secretaries, administrators. Only this identity may then be linked to it: the
-- holder's password alone must not let any professional's identity into such an account.
ALTER TABLE users
    ADD COLUMN declared_national_id text UNIQUE
        CHECK (declared_national_id IS NULL OR length(declared_national_id) BETWEEN 2 AND 64);

-- The holder is told of every identity linked to the account, whatever the means.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'sign_in_code', 'activation', 'password_reset', 'card_linked', 'password_changed',
    'psc_linked'));
