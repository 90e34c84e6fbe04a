-- Inactive accounts (issue 19): a new account status. Alone in its migration: a value added to an
-- enum cannot be used in the transaction that adds it, and the next migration uses it.
ALTER TYPE user_status ADD VALUE IF NOT EXISTS 'dormant';
