-- The public, in-database way to emit an event from another application's transaction:
--   SELECT flowsync.emit_event('orders.paid', '{"order_id": 42}', id => 'order-42-paid');
-- It takes effect only if that transaction commits; each id is processed once (a repeat is a
-- no-op). Without an id a random one is made. Returns the event id.
CREATE OR REPLACE FUNCTION flowsync.emit_event(
    type     text,
    payload  jsonb DEFAULT '{}',
    id       text DEFAULT NULL
) RETURNS text
LANGUAGE sql AS $$
    SELECT x.event_id FROM flowsync.emit_event_ex($1, $2, $3) x
$$;
