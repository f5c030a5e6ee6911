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
