-- _settle leases the dependents it decides to run straight to the reporting worker, in the
-- write that decides them, and returns their claims: a chain's next step is written once
-- (no longer queued, then leased) and _dispatch's hand-off is gone. What is left of
-- _dispatch (ready steps into the job table) is _enqueue; _lease_steps' claim is
-- _step_claims. The functions whose types change, or that are gone, are dropped here;
-- sql/functions creates the new ones.
DROP FUNCTION IF EXISTS flowsync._settle(bigint[], timestamptz);
DROP FUNCTION IF EXISTS flowsync._dispatch(
    flowsync.ready_steps, text, text[], integer, integer, timestamptz);
DROP FUNCTION IF EXISTS flowsync._lease_steps(bigint[], text, integer, timestamptz);
