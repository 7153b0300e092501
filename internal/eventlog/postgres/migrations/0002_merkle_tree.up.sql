-- The Merkle tree over the log (internal/tlog): every complete subtree
-- (leaves, the events, included), keyed by its in-order position (tlog.NodeKey), its
-- hash 32 bytes. Written in the append transaction, never updated or
-- deleted. Migration 0004 replaces it with tree_nodes, filled from the
-- events.
CREATE TABLE merkle_nodes (
    id   BIGINT PRIMARY KEY,
    hash BYTEA  NOT NULL
);
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION artstore_events_append_only();
