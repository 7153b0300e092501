-- The names of live artifacts in byte order, for the skip scan of
-- Views.Names (shell completion): one index probe per distinct name or
-- directory, whatever the database's collation.
CREATE INDEX artifacts_live_name ON artifacts (name COLLATE "C") WHERE deleted_seq = 0;
