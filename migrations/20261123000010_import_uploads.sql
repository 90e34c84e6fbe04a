-- The console's CSV imports while they are checked and applied (issue 7): the uploaded file, where
-- its check or its commit stands, and the preview, so that the page survives a reload and any
-- server instance can show it.
--
-- The file is personal data (names, e-mail addresses): it is kept only until the import is
-- committed or abandoned (`content` is then cleared), and uploads left alone are purged after a day
-- (`import_uploads_purge`). Nothing here changes an account: the accounts, memberships, e-mails and
-- audit rows of an import are written by its one commit transaction, which also writes
-- `import_jobs`.
CREATE TABLE import_uploads (
    id              uuid PRIMARY KEY,
    region_code     text NOT NULL REFERENCES regions(code),
    actor_user_id   uuid REFERENCES users(id) ON DELETE SET NULL,
    actor_label     text NOT NULL,
    -- As the browser sent it, shortened; shown to the administrator, never used as a path.
    file_name       text NOT NULL CHECK (length(file_name) <= 200),
    file_sha256     text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    content         bytea,
    -- Data rows of the file (its lines after the header, as read).
    rows_total      integer NOT NULL CHECK (rows_total >= 0),
    skip_errors     boolean NOT NULL DEFAULT false,
    state           text NOT NULL CHECK (state IN
                        ('validating', 'previewed', 'committing', 'committed', 'interrupted', 'abandoned')),
    -- The running step's progress: `validated` or `written`, rows done out of rows to do.
    phase           text CHECK (phase IN ('validated', 'written')),
    done            integer NOT NULL DEFAULT 0 CHECK (done >= 0),
    total           integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    -- Written by the worker while it runs: a running upload whose heartbeat stopped was interrupted
    -- (server or database restart) and, its transaction having rolled back, wrote nothing.
    heartbeat_at    timestamptz NOT NULL,
    -- The dry run's `Preview` (JSON), once checked.
    preview         jsonb,
    -- Why the last step stopped short, when it did (`uploads::Failure` as JSON).
    failure         jsonb,
    job_id          uuid REFERENCES import_jobs(id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT import_uploads_committed CHECK ((state = 'committed') = (job_id IS NOT NULL)),
    CONSTRAINT import_uploads_content CHECK (state IN ('committed', 'abandoned') OR content IS NOT NULL)
);
CREATE INDEX import_uploads_region_idx ON import_uploads (region_code, created_at DESC);

COMMENT ON TABLE import_uploads IS 'CSV imports of the console while they are checked and applied; the file is cleared once committed or abandoned.';
