-- Other live workers that share a queue with p_worker: registered, not stopped, and seen (a
-- heartbeat) within p_seen_within_ms. A worker runs one claim/report round trip at a time
-- when it has peers, two when it is alone (flowsync/worker/engine.py, _pipeline).
CREATE OR REPLACE FUNCTION flowsync.worker_peers(
    p_worker          text,
    p_queues          text[],
    p_seen_within_ms  integer,
    p_now             timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer FROM flowsync.workers w
    WHERE w.id <> p_worker AND w.stopped_at IS NULL AND w.queues && p_queues
      AND w.last_seen_at >= p_now - make_interval(secs => p_seen_within_ms / 1000.0)
$$;
