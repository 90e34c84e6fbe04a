-- The administration console: accent-insensitive user search, the time of the last strong
-- authentication of a session (admin pages ask for it again after a while), and the indexes of
-- the audit viewer's filters.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is only STABLE (its dictionary could change); naming the dictionary explicitly makes
-- the result depend on the arguments alone, so it may be declared IMMUTABLE and used in generated
-- columns and indexes. "Hélène LECLERC" → "helene leclerc".
CREATE FUNCTION passerelle_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

ALTER TABLE users
    ADD COLUMN search_text text GENERATED ALWAYS AS (
        passerelle_fold(given_name || ' ' || family_name || ' ' || username || ' ' || email || ' ' || coalesce(rpps, ''))
    ) STORED,
    -- The list's order, and its keyset cursor: family name, then given name (folded).
    ADD COLUMN sort_name text GENERATED ALWAYS AS (
        passerelle_fold(family_name || ' ' || given_name)
    ) STORED;
CREATE INDEX users_search_trgm_idx ON users USING gin (search_text gin_trgm_ops);
CREATE INDEX users_sort_idx ON users (sort_name, id);
CREATE INDEX users_region_sort_idx ON users (region_code, sort_name, id);
CREATE INDEX admin_roles_user_idx ON admin_roles (user_id);

-- Set at sign-in and again when the user confirms their password for the admin console.
ALTER TABLE sessions ADD COLUMN authenticated_at timestamptz;

ALTER TABLE establishments
    ADD COLUMN updated_at timestamptz,
    ADD COLUMN sort_name text GENERATED ALWAYS AS (passerelle_fold(name)) STORED;
CREATE INDEX establishments_sort_idx ON establishments (region_code, sort_name, id);

-- The viewer's target filter matches the id or the label, of any type: the index of migration 4
-- (type first) cannot serve it; this one also serves the account page's rows (type and id).
CREATE INDEX audit_log_target_id_idx ON audit_log (target_id, occurred_at DESC, id DESC);
DROP INDEX audit_log_target_idx;
-- Refusals and failures are rare: the viewer's outcome filter reads them without walking the log.
CREATE INDEX audit_log_unsuccessful_idx ON audit_log (region_code, occurred_at DESC, id DESC)
    WHERE outcome <> 'success';
CREATE INDEX audit_log_action_idx ON audit_log (action text_pattern_ops, occurred_at DESC, id DESC);
CREATE INDEX audit_log_actor_label_idx ON audit_log (actor_label, occurred_at DESC, id DESC);
CREATE INDEX audit_log_target_label_idx ON audit_log (target_label, occurred_at DESC, id DESC);
