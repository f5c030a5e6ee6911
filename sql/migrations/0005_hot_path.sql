-- The hot path: HOT updates of executions, and node lookups by their full key.
--
-- Let an execution's two updates on the hot path (queued -> running, and finishing) be HOT
-- updates: neither may change a column any index of the table reads, and the page must have
-- room for the new row version. A non-HOT update writes a new entry into every index (four
-- here); this was a fifth of the server's time per single-step execution.
--
-- * executions_active_idx read `status` (in its predicate): listings filter by status while
--   walking executions_created_at_idx, which serves them as well.
-- * executions_finished_at_idx read `finished_at`: retention now walks executions_created_at_idx
--   oldest first (an execution that finished before the cutoff was created before it).
-- * fillfactor 50 leaves room on each page for the row's next version; the one after
--   finds room once the first is pruned (measured: 70 left half the updates non-HOT, 50
--   most of them HOT, 30 all of them, at 2.3 times the table's size on disk). Applies to
--   pages written from now on; VACUUM FULL or pg_repack rewrites older ones.
DROP INDEX flowsync.executions_active_idx;
DROP INDEX flowsync.executions_finished_at_idx;
ALTER TABLE flowsync.executions SET (fillfactor = 50);

-- The engine reads a step's node by (workflow_id, version, node_idx), the primary key. With
-- the unique (workflow_id, version, node_id) beside it and no statistics yet, the planner
-- rated a (workflow_id, version) prefix scan of that index as cheaper than the full key and
-- filtered node_idx: every node of the version read for every step, quadratic in a wide
-- fan-out. The same uniqueness, with node_id first, offers no such prefix.
ALTER TABLE flowsync.workflow_nodes DROP CONSTRAINT workflow_nodes_node_id_key;
ALTER TABLE flowsync.workflow_nodes
    ADD CONSTRAINT workflow_nodes_node_id_key UNIQUE (node_id, workflow_id, version);
