-- Lock up to p_limit enabled cron triggers whose next tick is due, skipping those another
-- scheduler holds; the caller fires their ticks and advances them in the same transaction.
CREATE OR REPLACE FUNCTION flowsync.trigger_claim_due(
    p_limit  integer DEFAULT 100,
    p_now    timestamptz DEFAULT now()
) RETURNS SETOF flowsync.triggers
LANGUAGE sql AS $$
    SELECT t.* FROM flowsync.triggers t
    WHERE t.kind = 'cron' AND t.enabled AND t.next_fire_at <= p_now
    ORDER BY t.next_fire_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
$$;
