-- The national directory (issue 18): the public extractions of the Annuaire Santé (professionals
-- and their activities) and of FINESS (establishments), loaded whole and replaced whole.
--
-- A load never writes into the tables readers use: it COPYs into `*_next` tables made by
-- `directory_stage`, then `directory_swap` indexes them, counts what changed and puts them in
-- place in the caller's transaction (with the import's record and its audit row), so that readers
-- see the old directory or the new one, never half of one. The index definitions live here only.

-- A name as the directory and the accounts are compared: folded (case, accents), then only its
-- letters and digits ("Le Goff-Hélias" = "LE GOFF HELIAS" = "legoffhelias").
CREATE FUNCTION passerelle_name_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(passerelle_fold($1), '[^a-z0-9]+', '', 'g');

-- One line of the Annuaire Santé's extraction: a professional in one activity. No key: a
-- professional has as many lines as activities, and the file may repeat one.
CREATE TABLE directory_activities (
    national_id      text NOT NULL,          -- type (8 RPPS, 0 ADELI) then the identifier
    identifier_type  smallint NOT NULL CHECK (identifier_type IN (0, 8)),
    identifier       text NOT NULL,
    family_name      text NOT NULL,
    given_name       text NOT NULL,
    profession_code  text NOT NULL,
    profession       text NOT NULL,
    specialty_code   text NOT NULL,
    specialty        text NOT NULL,
    site_finess      text,
    legal_finess     text,
    site_name        text NOT NULL,
    postal_code      text NOT NULL,
    city             text NOT NULL,
    email            text NOT NULL,
    -- FNV-1a of the line's fields, computed by the loader while it reads: the professional's
    -- digest is the XOR of their lines' (order-free), without reading the text again.
    line_hash        bigint NOT NULL
);

-- One row per professional, made from the activities at each load: what verification reads (an
-- RPPS and its exercise name, compared through passerelle_name_key when asked), and a digest of
-- all its lines that tells a changed professional from an unchanged one at the next load.
CREATE TABLE directory_people (
    national_id      text PRIMARY KEY,
    identifier_type  smallint NOT NULL,
    identifier       text NOT NULL,
    family_name      text NOT NULL,
    given_name       text NOT NULL,
    activities       integer NOT NULL,
    digest           bigint NOT NULL
);

-- One FINESS establishment (a geographic site).
CREATE TABLE directory_establishments (
    finess           text PRIMARY KEY,
    legal_finess     text,
    name             text NOT NULL,
    street           text NOT NULL,
    postal_code      text NOT NULL,
    city             text NOT NULL,
    department       text NOT NULL,
    department_name  text NOT NULL,
    phone            text NOT NULL,
    category_code    text NOT NULL,
    category         text NOT NULL,
    -- The region of its FINESS number's department (the loader computes it, as for Passerelle's
    -- own establishments): the public directory shows that region's support desk. NULL for a
    -- territory without a regional agency here (Saint-Pierre-et-Miquelon, the Pacific).
    region_code      text,
    -- What the public search matches by word prefix: " " before each folded word, so that
    -- LIKE '% word%' finds a word starting with "word" (the trigram index serves it).
    search_text      text GENERATED ALWAYS AS (
        ' ' || regexp_replace(passerelle_fold(name || ' ' || city || ' ' || postal_code || ' ' || finess),
                              '[^a-z0-9]+', ' ', 'g')
    ) STORED,
    sort_name        text GENERATED ALWAYS AS (passerelle_fold(name)) STORED
);

CREATE TYPE directory_file AS ENUM ('professionals', 'establishments');

-- Every load: which file (name, date in its name, SHA-256), what it held and what it changed. The
-- latest finished load of a kind is the directory in place; a file whose SHA-256 is the one in
-- place is not loaded again.
CREATE TABLE directory_imports (
    id              uuid PRIMARY KEY,
    file_kind       directory_file NOT NULL,
    file_name       text NOT NULL,
    file_date       timestamptz,
    -- NULL until the running load has read the whole file.
    file_sha256     text CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_bytes      bigint NOT NULL CHECK (file_bytes >= 0),
    actor_label     text NOT NULL,
    started_at      timestamptz NOT NULL,
    -- Written with the progress: a running load silent for minutes died with its instance.
    heartbeat_at    timestamptz NOT NULL,
    -- While running: the bytes read so far (the progress bar of every instance's page).
    bytes_read      bigint NOT NULL DEFAULT 0,
    state           text NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'done', 'unchanged', 'refused', 'failed')),
    finished_at     timestamptz,
    lines_read      bigint NOT NULL DEFAULT 0,
    rows_loaded     bigint NOT NULL DEFAULT 0,   -- activities or establishments
    people          bigint NOT NULL DEFAULT 0,   -- professionals (the professionals' file)
    bad_lines       bigint NOT NULL DEFAULT 0,
    added           bigint NOT NULL DEFAULT 0,
    removed         bigint NOT NULL DEFAULT 0,
    changed         bigint NOT NULL DEFAULT 0,
    -- The first bad lines (number and reason) and, when refused or failed, why.
    report          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX directory_imports_kind_idx ON directory_imports (file_kind, started_at DESC);
-- One load of each kind at a time, whichever instance runs it.
CREATE UNIQUE INDEX directory_imports_one_running ON directory_imports (file_kind)
    WHERE state = 'running';

COMMENT ON TABLE directory_imports IS 'Loads of the national directory''s extractions: file, digest, counts, changes.';

-- Empty `*_next` tables for a load of `kind`, without indexes (the COPY is faster; the swap
-- indexes them), replacing those of an interrupted load.
CREATE FUNCTION directory_stage(kind directory_file) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF kind = 'professionals' THEN
        DROP TABLE IF EXISTS directory_activities_next, directory_people_next;
        CREATE TABLE directory_activities_next (LIKE directory_activities INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
        CREATE TABLE directory_people_next (LIKE directory_people INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
    ELSE
        DROP TABLE IF EXISTS directory_establishments_next;
        CREATE TABLE directory_establishments_next
            (LIKE directory_establishments INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED);
    END IF;
END;
$$;

-- Drops the staging tables of a refused or failed load (they may weigh a gigabyte).
CREATE FUNCTION directory_unstage(kind directory_file) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF kind = 'professionals' THEN
        DROP TABLE IF EXISTS directory_activities_next, directory_people_next;
    ELSE
        DROP TABLE IF EXISTS directory_establishments_next;
    END IF;
END;
$$;

-- Indexes the loaded `*_next` tables, counts the professionals (or establishments) added, removed
-- and changed against the tables in place, and puts the new ones in their place. Run in the
-- transaction that records the import: readers keep the old tables until it commits.
CREATE FUNCTION directory_swap(kind directory_file, OUT people bigint, OUT added bigint,
                               OUT removed bigint, OUT changed bigint)
LANGUAGE plpgsql AS $$
BEGIN
    -- Sorts and hashes of millions of rows: in memory rather than in temporary files, for this
    -- transaction only.
    SET LOCAL work_mem = '256MB';
    SET LOCAL maintenance_work_mem = '256MB';
    IF kind = 'professionals' THEN
        -- The names of a professional's lines are the same: any one will do, compared bytewise.
        INSERT INTO directory_people_next
        SELECT national_id, min(identifier_type), min(identifier COLLATE "C"),
               min(family_name COLLATE "C"), min(given_name COLLATE "C"), count(*),
               bit_xor(line_hash)
        FROM directory_activities_next GROUP BY national_id;
        GET DIAGNOSTICS people = ROW_COUNT;
        ALTER TABLE directory_people_next ADD PRIMARY KEY (national_id);
        CREATE INDEX ON directory_activities_next (national_id);
        ANALYZE directory_people_next;

        SELECT count(*) FILTER (WHERE p.national_id IS NULL),
               count(*) FILTER (WHERE n.national_id IS NULL),
               count(*) FILTER (WHERE (p.digest, p.activities) IS DISTINCT FROM (n.digest, n.activities)
                                AND p.national_id IS NOT NULL AND n.national_id IS NOT NULL)
          INTO added, removed, changed
          FROM directory_people p FULL JOIN directory_people_next n USING (national_id);

        DROP TABLE directory_activities, directory_people;
        ALTER TABLE directory_activities_next RENAME TO directory_activities;
        ALTER TABLE directory_people_next RENAME TO directory_people;
        ALTER INDEX directory_activities_next_national_id_idx RENAME TO directory_activities_national_id_idx;
        ALTER INDEX directory_people_next_pkey RENAME TO directory_people_pkey;
    ELSE
        ALTER TABLE directory_establishments_next ADD PRIMARY KEY (finess);
        CREATE INDEX directory_establishments_next_search_idx
            ON directory_establishments_next USING gin (search_text gin_trgm_ops);
        CREATE INDEX directory_establishments_next_sort_idx
            ON directory_establishments_next (sort_name, finess);
        ANALYZE directory_establishments_next;

        SELECT count(*) INTO people FROM directory_establishments_next;
        SELECT count(*) INTO added FROM directory_establishments_next n
            WHERE NOT EXISTS (SELECT 1 FROM directory_establishments e WHERE e.finess = n.finess);
        SELECT count(*) INTO removed FROM directory_establishments e
            WHERE NOT EXISTS (SELECT 1 FROM directory_establishments_next n WHERE n.finess = e.finess);
        SELECT count(*) INTO changed FROM directory_establishments e JOIN directory_establishments_next n USING (finess)
            WHERE (e.*) IS DISTINCT FROM (n.*);

        DROP TABLE directory_establishments;
        ALTER TABLE directory_establishments_next RENAME TO directory_establishments;
        ALTER INDEX directory_establishments_next_pkey RENAME TO directory_establishments_pkey;
        ALTER INDEX directory_establishments_next_search_idx RENAME TO directory_establishments_search_idx;
        ALTER INDEX directory_establishments_next_sort_idx RENAME TO directory_establishments_sort_idx;
    END IF;
END;
$$;

-- The tables in place start empty, indexed as a swap leaves them.
CREATE INDEX directory_activities_national_id_idx ON directory_activities (national_id);
CREATE INDEX directory_establishments_search_idx ON directory_establishments USING gin (search_text gin_trgm_ops);
CREATE INDEX directory_establishments_sort_idx ON directory_establishments (sort_name, finess);

-- Why an account is accepted although the directory disagrees with its RPPS or name (it lags
-- behind the orders' registrations by days): set by the desk with the reason, at creation or
-- later, audited. Without it, linking a card or a Pro Santé Connect identity that the directory
-- contradicts is refused.
ALTER TABLE users ADD COLUMN directory_exception text
    CHECK (directory_exception IS NULL OR length(btrim(directory_exception)) BETWEEN 1 AND 500);
