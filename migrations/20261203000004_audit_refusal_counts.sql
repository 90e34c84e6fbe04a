-- Repeated anonymous refusals (throttled sign-ins, TIQR app posts, card and PSC refusals, reset
-- requests) are summarised instead of appended one by one: the audit log is append-only and
-- chained under one lock, so a row per refused request let anyone grow it without bound and queue
-- every connection of the pool behind that lock.
--
-- The first refusal of a minute by a source (the client address, IPv6 per /64) for an action and
-- reason is appended to the audit log at once, with all its details (`first_row_id`). The next ones
-- of that minute only increment `refusals` here: a row lock on this table, no chain lock. When the
-- minute is over, one summary row with the count is appended to the log and the window deleted, in
-- the same transaction, by whichever instance gets there first (the periodic flush, or the same
-- source's next refusal). Counts are committed with each refusal, so a restart loses nothing.
CREATE TABLE audit_refusal_counts (
    source       text NOT NULL,
    action       text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    reason       text NOT NULL,
    -- Start of the minute (UTC) the window covers.
    minute       timestamptz NOT NULL CHECK (date_trunc('minute', minute) = minute),
    outcome      audit_outcome NOT NULL,
    -- Refusals of the window, the first included.
    refusals     integer NOT NULL CHECK (refusals >= 1),
    -- The audit row of the window's first refusal (NULL only inside the transaction writing it). No
    -- foreign key: it would make TRUNCATE of audit_log fail on the key instead of on its trigger.
    first_row_id bigint,
    last_at      timestamptz NOT NULL,
    PRIMARY KEY (source, action, reason, minute)
);
-- The flush looks for closed minutes.
CREATE INDEX audit_refusal_counts_minute_idx ON audit_refusal_counts (minute);
