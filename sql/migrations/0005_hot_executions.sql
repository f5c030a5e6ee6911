-- Let an execution's two updates on the hot path (queued -> running, and finishing) be HOT
-- updates: neither may change a column any index of the table reads, and the page must have
-- room for the new row version. A non-HOT update writes a new entry into every index (four
-- here); this was a fifth of the server's time per single-step execution.
--
-- * executions_active_idx read `status` (in its predicate): listings filter by status while
--   walking executions_created_at_idx, which serves them as well.
-- * executions_finished_at_idx read `finished_at`: retention now walks executions_created_at_idx
--   oldest first (an execution that finished before the cutoff was created before it).
-- * fillfactor 70 leaves room on each page for the row's next versions (applies to pages
--   written from now on; VACUUM FULL or pg_repack rewrites older ones).
DROP INDEX flowsync.executions_active_idx;
DROP INDEX flowsync.executions_finished_at_idx;
ALTER TABLE flowsync.executions SET (fillfactor = 70);
