-- Hardening (issue 14, L-1 and L-4).
--
-- 1. Wrong e-mail codes count on their own (`auth_throttle` scope 'email_code', keyed like the
--    account): a right password no longer resets them, only a right code does (domain/src/auth/
--    otp.rs). Without it, someone who knows the password could guess codes sign-in after sign-in.
-- 2. A console e-mail change tells the old address and the new one ('email_changed').
--
-- Both checks are lists that other changes of the same release extend too: each list is read back
-- from the catalog and extended, so that this migration keeps whatever the earlier ones added.

CREATE FUNCTION pg_temp.extend_text_check(tbl regclass, con text, extra text) RETURNS void
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

SELECT pg_temp.extend_text_check('auth_throttle', 'auth_throttle_scope_check', 'email_code');
SELECT pg_temp.extend_text_check('mail_outbox', 'mail_outbox_kind_check', 'email_changed');
