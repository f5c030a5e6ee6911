-- Extend the leases of a worker's running steps and record that the worker is alive. Returns
-- the ids whose lease the worker no longer holds (cancelled, rescued, finished elsewhere):
-- the worker abandons those attempts, since any report of theirs would be rejected anyway.
CREATE OR REPLACE FUNCTION flowsync.heartbeat(
    p_worker    text,
    p_step_ids  bigint[],
    p_tokens    uuid[],
    p_lease_ms  integer,
    p_now       timestamptz DEFAULT now()
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    v_kept bigint[];
BEGIN
    UPDATE flowsync.workers w SET last_seen_at = p_now WHERE w.id = p_worker;

    WITH mine AS (
        SELECT s.id FROM flowsync.steps s
        JOIN unnest(p_step_ids, p_tokens) AS t(step_id, token)
          ON s.id = t.step_id AND s.lease_token = t.token
        WHERE s.status = 'running'
        ORDER BY s.id
        FOR UPDATE OF s
    ), extended AS (  -- (a lease row changes only under its step's lock)
        UPDATE flowsync.leases l
        SET expires_at = p_now + make_interval(secs => p_lease_ms / 1000.0)
        FROM mine WHERE l.step_id = mine.id
        RETURNING l.step_id AS id
    )
    SELECT coalesce(array_agg(id), '{}') INTO v_kept FROM extended;

    RETURN ARRAY(SELECT unnest(p_step_ids) EXCEPT SELECT unnest(v_kept));
END;
$$;
