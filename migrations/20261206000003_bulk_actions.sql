-- Bulk actions of the console (issue 19): an administrator selects accounts from a search (ticked,
-- or the whole result) and applies one action to all. The selection is written here first, and
-- a confirmation page shows its count; once confirmed, each account goes through the same
-- function as the single action (authorised on its own region and audited on its own), and its
-- outcome is written here, so the page shows the progress and the accounts that failed, from any
-- instance. The rules are in domain/src/admin/bulk.rs.

CREATE TABLE bulk_jobs (
    id              uuid PRIMARY KEY,
    -- Only the administrator who made the selection sees and confirms it.
    actor_user_id   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action          text NOT NULL CHECK (action IN ('disable', 'enable', 'send_link', 'end_sessions',
                                                    'add_membership', 'remove_membership')),
    -- The establishment of a membership action.
    finess          text CHECK (finess ~ '^\d{9}$'),
    total           integer NOT NULL CHECK (total > 0),
    state           text NOT NULL DEFAULT 'prepared' CHECK (state IN ('prepared', 'running', 'done')),
    created_at      timestamptz NOT NULL,
    confirmed_at    timestamptz,
    -- Written by the instance running the job after each account: a job whose heartbeat stops
    -- (its instance died) may be resumed from the page.
    heartbeat_at    timestamptz,
    -- The run that owns the job: set by each confirmation, so that a run taken over after its
    -- heartbeat stopped sees it lost the job and stops (two runs never go on side by side).
    runner          uuid,
    finished_at     timestamptz,
    CHECK ((action IN ('add_membership', 'remove_membership')) = (finess IS NOT NULL))
);
CREATE INDEX bulk_jobs_actor ON bulk_jobs (actor_user_id, created_at);

CREATE TABLE bulk_job_items (
    job_id          uuid NOT NULL REFERENCES bulk_jobs(id) ON DELETE CASCADE,
    position        integer NOT NULL,
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    done_at         timestamptz,
    -- Why the action failed on this account (the console's error code); NULL when it succeeded.
    failure         text,
    PRIMARY KEY (job_id, position),
    CHECK (failure IS NULL OR done_at IS NOT NULL)
);
CREATE INDEX bulk_job_items_pending ON bulk_job_items (job_id, position) WHERE done_at IS NULL;
