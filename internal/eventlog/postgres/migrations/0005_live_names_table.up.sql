-- The names that have live artifacts, with how many, for the skip scan of
-- Views.Names (shell completion): a view, one row per name, kept by the
-- projection (a registration adds one, a deletion takes one away and drops
-- the row at zero). It replaces the partial index artifacts_live_name,
-- which put one entry per live artifact in a B-tree ordered by name: an
-- append then wrote another scattered index page per name it touched.
-- The key is in byte order (COLLATE "C"), whatever the database's
-- collation, as Names' probes compare.
CREATE TABLE live_names (
    name TEXT COLLATE "C" PRIMARY KEY,
    live BIGINT NOT NULL
);
INSERT INTO live_names (name, live)
    SELECT name, COUNT(*) FROM artifacts WHERE deleted_seq = 0 GROUP BY name;
DROP INDEX artifacts_live_name;
