-- The daily job of inactive accounts now commits its accounts by batches (the audit chain's lock,
-- which every sign-in waits for, is held for one batch at a time): its claim of the day is
-- committed first, and the day is done only when its last batch is. A claimed day left unfinished
-- for 10 minutes belongs to a run that died; the next run takes it over (domain/src/auth/dormancy.rs).
ALTER TABLE daily_runs ADD COLUMN finished_at timestamptz;
UPDATE daily_runs SET finished_at = ran_at;
