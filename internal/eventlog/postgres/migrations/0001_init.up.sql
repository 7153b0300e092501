-- The event log. Rows are never updated or deleted.
CREATE TABLE events (
    seq     BIGINT PRIMARY KEY,
    time_ns BIGINT  NOT NULL,
    actor   TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    body    BYTEA   NOT NULL,
    prev    TEXT    NOT NULL,
    hash    TEXT    NOT NULL
);

-- Views: derived from events, rebuilt by replaying them.
CREATE TABLE artifacts (
    seq               BIGINT PRIMARY KEY,
    id                TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    version           TEXT    NOT NULL,
    version_num       BIGINT  NOT NULL,
    content_digest    TEXT    NOT NULL,
    size              BIGINT  NOT NULL,
    manifest_digest   TEXT    NOT NULL,
    media_type        TEXT    NOT NULL,
    provenance        TEXT    NOT NULL,
    created_ns        BIGINT  NOT NULL,
    created_by        TEXT    NOT NULL,
    updated_seq       BIGINT  NOT NULL,
    expires_ns        BIGINT  NOT NULL DEFAULT 0,
    immutable_ns      BIGINT  NOT NULL DEFAULT 0,
    retrievals        BIGINT  NOT NULL DEFAULT 0,
    retrieved_bytes   BIGINT  NOT NULL DEFAULT 0,
    last_retrieved_ns BIGINT  NOT NULL DEFAULT 0,
    last_retrieved_by TEXT    NOT NULL DEFAULT '',
    deleted_seq       BIGINT  NOT NULL DEFAULT 0,
    deleted_ns        BIGINT  NOT NULL DEFAULT 0,
    deleted_by        TEXT    NOT NULL DEFAULT '',
    delete_reason     TEXT    NOT NULL DEFAULT '',
    UNIQUE (name, version)
);
CREATE INDEX artifacts_name_digest ON artifacts (name, content_digest, seq);
CREATE INDEX artifacts_name_num ON artifacts (name, version_num);

CREATE TABLE labels (
    seq   BIGINT  NOT NULL, -- the artifact's seq
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (seq, key)
);
CREATE INDEX labels_kv ON labels (key, value, seq);

CREATE TABLE tags (
    name        TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    artifact_id TEXT    NOT NULL,
    moved_seq   BIGINT  NOT NULL,
    moved_ns    BIGINT  NOT NULL,
    moved_by    TEXT    NOT NULL,
    PRIMARY KEY (name, tag)
);
CREATE INDEX tags_artifact ON tags (artifact_id);

CREATE TABLE lineage (
    child_id  TEXT    NOT NULL,
    idx       BIGINT  NOT NULL,
    child_seq BIGINT  NOT NULL,
    parent_id TEXT    NOT NULL,
    digest    TEXT    NOT NULL,
    ref       TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    PRIMARY KEY (child_id, idx)
);
CREATE INDEX lineage_parent ON lineage (parent_id, child_seq);

CREATE TABLE holds (
    artifact_id TEXT    NOT NULL,
    hold        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    placed_seq  BIGINT  NOT NULL,
    placed_ns   BIGINT  NOT NULL,
    placed_by   TEXT    NOT NULL,
    PRIMARY KEY (artifact_id, hold)
);

CREATE FUNCTION artstore_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'artstore: the event log is append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION artstore_events_append_only();
