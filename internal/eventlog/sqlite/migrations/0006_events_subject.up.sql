-- The events about one subject (an artifact ID, mostly), in seq order:
-- Store.ReadSubject reads them through this index instead of scanning the
-- log, for an evidence export and for the audit trail of one artifact.
CREATE INDEX events_subject ON events (subject, seq);
