-- The event log. Rows are never updated or deleted.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    body    BLOB    NOT NULL,
    prev    TEXT    NOT NULL,
    hash    TEXT    NOT NULL
);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'artstore: the event log is append-only (UPDATE refused)');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'artstore: the event log is append-only (DELETE refused)');
END;

-- Views: derived from events, rebuilt by replaying them.
CREATE TABLE artifacts (
    seq               INTEGER PRIMARY KEY,
    id                TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    version           TEXT    NOT NULL,
    version_num       INTEGER NOT NULL,
    content_digest    TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    manifest_digest   TEXT    NOT NULL,
    media_type        TEXT    NOT NULL,
    provenance        TEXT    NOT NULL,
    created_ns        INTEGER NOT NULL,
    created_by        TEXT    NOT NULL,
    updated_seq       INTEGER NOT NULL,
    expires_ns        INTEGER NOT NULL DEFAULT 0,
    immutable_ns      INTEGER NOT NULL DEFAULT 0,
    retrievals        INTEGER NOT NULL DEFAULT 0,
    retrieved_bytes   INTEGER NOT NULL DEFAULT 0,
    last_retrieved_ns INTEGER NOT NULL DEFAULT 0,
    last_retrieved_by TEXT    NOT NULL DEFAULT '',
    deleted_seq       INTEGER NOT NULL DEFAULT 0,
    deleted_ns        INTEGER NOT NULL DEFAULT 0,
    deleted_by        TEXT    NOT NULL DEFAULT '',
    delete_reason     TEXT    NOT NULL DEFAULT '',
    UNIQUE (name, version)
);
CREATE INDEX artifacts_name_digest ON artifacts (name, content_digest, seq);
CREATE INDEX artifacts_name_num ON artifacts (name, version_num);

CREATE TABLE labels (
    seq   INTEGER NOT NULL, -- the artifact's seq
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (seq, key)
) WITHOUT ROWID;
CREATE INDEX labels_kv ON labels (key, value, seq);

CREATE TABLE tags (
    name        TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    artifact_id TEXT    NOT NULL,
    moved_seq   INTEGER NOT NULL,
    moved_ns    INTEGER NOT NULL,
    moved_by    TEXT    NOT NULL,
    PRIMARY KEY (name, tag)
) WITHOUT ROWID;
CREATE INDEX tags_artifact ON tags (artifact_id);

CREATE TABLE lineage (
    child_id  TEXT    NOT NULL,
    idx       INTEGER NOT NULL,
    child_seq INTEGER NOT NULL,
    parent_id TEXT    NOT NULL,
    digest    TEXT    NOT NULL,
    ref       TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    PRIMARY KEY (child_id, idx)
) WITHOUT ROWID;
CREATE INDEX lineage_parent ON lineage (parent_id, child_seq);

CREATE TABLE holds (
    artifact_id TEXT    NOT NULL,
    hold        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    placed_seq  INTEGER NOT NULL,
    placed_ns   INTEGER NOT NULL,
    placed_by   TEXT    NOT NULL,
    PRIMARY KEY (artifact_id, hold)
) WITHOUT ROWID;
