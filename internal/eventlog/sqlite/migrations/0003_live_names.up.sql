-- The names of live artifacts, for the skip scan of Views.Names (shell
-- completion): one index probe per distinct name or directory.
CREATE INDEX artifacts_live_name ON artifacts (name) WHERE deleted_seq = 0;
