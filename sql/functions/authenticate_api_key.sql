-- Look up a live key by hash. last_used_at is refreshed at most once a minute per key,
-- so authentication stays a read on the hot path.
CREATE OR REPLACE FUNCTION flowsync.authenticate_api_key(
    p_key_hash  bytea,
    p_now       timestamptz DEFAULT now()
) RETURNS TABLE (id uuid, scopes flowsync.api_scope[])
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE flowsync.api_keys k SET last_used_at = p_now
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
      AND (k.last_used_at IS NULL OR k.last_used_at < p_now - interval '1 minute');

    RETURN QUERY
    SELECT k.id, k.scopes FROM flowsync.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
END;
$$;
