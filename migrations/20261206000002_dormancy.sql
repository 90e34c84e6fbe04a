-- Inactive accounts (issue 19). An active account nobody signed in to for `[policy] inactive_days`
-- becomes `dormant` (a daily job, once per day across every instance); its holder is warned by
-- e-mail 30 days before. A dormant account signs in only after opening a link e-mailed when a
-- sign-in meets it; a regional administrator can keep an account active. The rules are in
-- domain/src/auth/dormancy.rs.

-- When the account last signed in (any method), and when it was last kept active by the holder's
-- wake link or a decision of the console (keep active, enable, unlock). The account's inactivity
-- counts from the latest of these and its creation.
ALTER TABLE users ADD COLUMN last_sign_in_at timestamptz;
ALTER TABLE users ADD COLUMN kept_active_at timestamptz;
-- When the holder was warned that the account will become dormant; cleared by the next sign-in
-- or decision, so each period of inactivity is warned once.
ALTER TABLE users ADD COLUMN dormancy_warned_at timestamptz;

-- The accounts' past sign-ins, from the audit log (the only record of them so far): without it,
-- every account would count as inactive since its creation on the day this runs.
UPDATE users u SET last_sign_in_at = s.at
FROM (SELECT target_id, max(occurred_at) AS at FROM audit_log
      WHERE action = 'auth.sign_in' AND outcome = 'success' AND target_type = 'user'
      GROUP BY target_id) s
WHERE s.target_id = u.id::text;

-- The daily job's search: active accounts by the moment their inactivity counts from.
CREATE INDEX users_inactivity_idx ON users ((greatest(created_at, last_sign_in_at, kept_active_at)))
    WHERE status = 'active';

-- One row per job and day: the instance that inserts it runs the job, in the same transaction
-- (an instance that fails midway rolls its claim back and another one runs the job later).
CREATE TABLE daily_runs (
    job         text NOT NULL CHECK (job ~ '^[a-z_]+$'),
    day         date NOT NULL,
    ran_at      timestamptz NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (job, day)
);

-- The links a sign-in of a dormant account e-mails to its holder: opening one shows a page whose
-- button wakes the account (a GET changes nothing: mail scanners open links). Single use.
CREATE TABLE wake_links (
    token_hash      bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX wake_links_user ON wake_links (user_id, created_at) WHERE used_at IS NULL;

-- The helper of 20261203000005, again: a migration may run in a session of its own.
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

SELECT pg_temp.extend_text_check('mail_outbox', 'mail_outbox_kind_check', 'dormancy_warning');
SELECT pg_temp.extend_text_check('mail_outbox', 'mail_outbox_kind_check', 'wake_link');
