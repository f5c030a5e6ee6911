-- _settle hands the steps it made ready to _dispatch together with their queues, read by the
-- statement that decides them, so that a report no longer looks every ready step up again
-- (step, execution, node) to learn where it goes. report_steps takes p_top_up: a worker
-- that knows no job is due asks for its hand-offs only. The functions whose types change
-- are dropped here; sql/functions creates them again.
CREATE TYPE flowsync.ready_steps AS (
    ids     bigint[],  -- steps just made ready (status queued), by id
    queues  text[]     -- each one's queue, in the same order
);

DROP FUNCTION IF EXISTS flowsync._settle(bigint[], timestamptz);
DROP FUNCTION IF EXISTS flowsync._dispatch(bigint[], text, text[], integer, integer, timestamptz);
DROP FUNCTION IF EXISTS flowsync.report_steps(text, jsonb, text[], integer, integer, timestamptz);

-- Room on each page for a row's next two versions. A step is updated twice on its way
-- (leased, then finished with its output) and an execution twice (started, then finished
-- with its output); at fillfactor 50 a page held one more version of each row, so the second
-- update found room only if the first one's old version could already be pruned, which a
-- transaction still in flight elsewhere prevents: a third to a half of those updates were not
-- HOT (each then rewrites every index entry of the row). At 30 a drain's server CPU per
-- execution fell by about a seventh. It applies to pages written from now on.
ALTER TABLE flowsync.steps SET (fillfactor = 30);
ALTER TABLE flowsync.executions SET (fillfactor = 30);

-- A lease's expiry is read only by the rescue pass, which reads the whole (small: the work in
-- flight) table anyway; the index cost every lease an index entry, and made every heartbeat's
-- extension of a lease a non-HOT update.
DROP INDEX flowsync.leases_expires_at_idx;

-- An execution's output is its succeeded leaves' outputs: finishing it reads the version's
-- leaves by this index and looks each one's step up by key, instead of reading every step
-- of the execution. The table is written once per version, so the index costs the hot
-- path nothing.
CREATE INDEX workflow_nodes_leaves_idx ON flowsync.workflow_nodes (workflow_id, version, node_idx)
    WHERE is_leaf;
