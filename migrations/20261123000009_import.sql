-- CSV bulk import of accounts and memberships (issue 7, DESIGN.md §5).
--
-- An import is all or nothing: the accounts, memberships, activation e-mails, audit rows and this
-- record are written in one transaction, so a row here means the whole file was applied. It keeps
-- the report a page offers for download after a reload, and the file's digest that the audit row
-- of the import also carries.
CREATE TABLE import_jobs (
    id              uuid PRIMARY KEY,
    region_code     text NOT NULL REFERENCES regions(code),
    -- NULL once the administrator's account is deleted: the audit log keeps who it was.
    actor_user_id   uuid REFERENCES users(id) ON DELETE SET NULL,
    actor_label     text NOT NULL,
    -- SHA-256 of the uploaded bytes, as lowercase hex: the same file imported twice is recognisable.
    file_sha256     text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    rows_total      integer NOT NULL CHECK (rows_total >= 0),
    created         integer NOT NULL CHECK (created >= 0),
    updated         integer NOT NULL CHECK (updated >= 0),
    unchanged       integer NOT NULL CHECK (unchanged >= 0),
    -- Rows in error left out on the administrator's explicit request ("ignorer les lignes en erreur").
    skipped         integer NOT NULL CHECK (skipped >= 0),
    report          jsonb NOT NULL,
    committed_at    timestamptz NOT NULL,
    CONSTRAINT import_jobs_counts CHECK (created + updated + unchanged + skipped = rows_total)
);
CREATE INDEX import_jobs_region_idx ON import_jobs (region_code, committed_at DESC);

COMMENT ON TABLE import_jobs IS 'Committed CSV imports: who, where, which file (SHA-256), the counts and the downloadable report.';
