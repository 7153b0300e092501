-- events_subject again, in byte order (COLLATE "C"), whatever the
-- database's collation: Store.ReadSubjectPrefix reads a family of
-- subjects ("rule:" for the retention rules) as one range of it, and in a
-- collation where ':' weighs nothing that range would not hold exactly the
-- subjects with the prefix. ReadSubject compares subject COLLATE "C" too,
-- so one index serves both.
DROP INDEX events_subject;
CREATE INDEX events_subject ON events ((subject COLLATE "C"), seq);
