-- Lock up to p_limit enabled pgmq triggers, skipping those another consumer holds; the
-- caller reads their queues, fires, and archives the messages in the same transaction.
CREATE OR REPLACE FUNCTION flowsync.trigger_claim_pgmq(
    p_limit  integer DEFAULT 100
) RETURNS SETOF flowsync.triggers
LANGUAGE sql AS $$
    SELECT t.* FROM flowsync.triggers t
    WHERE t.kind = 'pgmq' AND t.enabled
    ORDER BY t.created_at, t.id
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
$$;
