-- Append-only, hash-chained audit log. Each row's hash is SHA-256(previous row's hash || canonical
-- form of the row), computed by the application under an advisory lock so that the chain has no
-- forks; `passerelle audit verify` recomputes it. Rows are written in the same transaction as the
-- change they record.
CREATE TYPE audit_outcome AS ENUM ('success', 'failure', 'denied');

CREATE TABLE audit_log (
    id            bigint PRIMARY KEY,
    occurred_at   timestamptz NOT NULL,
    actor_user_id uuid,
    actor_label   text NOT NULL,          -- username, or the attempted identifier for failures
    actor_role    text,
    action        text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    outcome       audit_outcome NOT NULL,
    target_type   text,
    target_id     text,
    target_label  text,
    region_code   text,
    ip            text,
    user_agent    text,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash     bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash          bytea NOT NULL UNIQUE CHECK (length(hash) = 32)
);
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

CREATE INDEX audit_log_time_idx   ON audit_log (occurred_at DESC, id DESC);
CREATE INDEX audit_log_actor_idx  ON audit_log (actor_user_id, occurred_at DESC, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, occurred_at DESC, id DESC);
CREATE INDEX audit_log_region_idx ON audit_log (region_code, occurred_at DESC, id DESC);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
