-- The Merkle tree over the log (internal/tlog): every complete subtree
-- (leaves, the events, included), keyed by its in-order position (tlog.NodeKey), its
-- hash 32 bytes. Written in the append transaction, never updated or
-- deleted. Migration 0004 replaces it with tree_nodes, filled from the
-- events.
CREATE TABLE merkle_nodes (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'artstore: the event log is append-only (UPDATE refused)');
END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'artstore: the event log is append-only (DELETE refused)');
END;
