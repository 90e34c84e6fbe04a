-- "Mes moyens de connexion" (issue 14, H-1): the holder and the desk remove linked cards, Pro Santé
-- Connect identities and TIQR phones, one at a time or all at once (a password reset that asks for
-- it, the desk's "compte compromis" action). The rules are in domain/src/auth/means.rs.
--
-- A removed PSC identity is deleted (its primary key is the national identifier, so a row kept
-- for history would stop the holder from linking it again); the audit row keeps what it was.
-- Cards and phones keep their rows with `unlinked_at` / `revoked_at`, as before.

-- The holder is told of every removal, and of the desk's securing of the account. The list keeps
-- the kinds of 20261203000001 (`psc_linked`).
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'sign_in_code', 'activation', 'password_reset', 'card_linked', 'password_changed',
    'psc_linked', 'sign_in_means_removed', 'account_secured'));
