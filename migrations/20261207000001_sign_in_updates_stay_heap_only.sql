-- Every sign-in writes `users.last_sign_in_at` (inactive accounts, domain/src/auth/dormancy.rs).
-- With that column inside an index (`users_inactivity_idx`, on the moment an account's inactivity
-- counts from), PostgreSQL could not make that write a heap-only update: each sign-in added an
-- entry to every index of the table, the console's trigram search and its two sort orders among
-- them (measured with pg_stat_statements under scripts/bench.sh: 22 buffers and 1.4 kB of WAL per
-- sign-in for that one UPDATE). The index served the daily job, which reads every active account
-- once a day: a sequential scan does that as well.
DROP INDEX users_inactivity_idx;

-- « Comptes inactifs » lists the dormant and warned accounts of some regions: a few among many,
-- found by columns a sign-in leaves as they are (it clears `dormancy_warned_at` only when set).
CREATE INDEX users_inactive_list_idx ON users (region_code)
    WHERE status = 'dormant' OR dormancy_warned_at IS NOT NULL;

-- Room in each page for the new version of a row, so that those updates stay on their page.
ALTER TABLE users SET (fillfactor = 90);
