-- The Merkle tree over the log (internal/tlog), one row per event that
-- completes nodes above the leaves: the event's seq and the hashes of the
-- nodes its append completed, lowest level first, 32 bytes each
-- (tlog.EventRow; an even seq has one per trailing zero bit, an odd seq
-- no row). Leaves are read from events.hash. Written in the append
-- transaction, never updated or deleted; filled from the existing events
-- when this migration runs. It replaces merkle_nodes, which held every node
-- and leaf in a row of its own (about four times the rows).
DROP TABLE merkle_nodes;
CREATE TABLE tree_nodes (
    seq    INTEGER PRIMARY KEY,
    hashes BLOB    NOT NULL
);
CREATE TRIGGER tree_nodes_no_update BEFORE UPDATE ON tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'artstore: the event log is append-only (UPDATE refused)');
END;
CREATE TRIGGER tree_nodes_no_delete BEFORE DELETE ON tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'artstore: the event log is append-only (DELETE refused)');
END;
