-- Record a new API key by its SHA-256; the plain key is shown to its owner once and never stored.
CREATE OR REPLACE FUNCTION flowsync.create_api_key(
    p_key_hash  bytea,
    p_prefix    text,
    p_scopes    flowsync.api_scope[],
    p_name      text DEFAULT '',
    p_actor     uuid DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO flowsync.api_keys (name, prefix, key_hash, scopes)
    VALUES (p_name, p_prefix, p_key_hash, p_scopes)
    RETURNING id INTO v_id;

    INSERT INTO flowsync.audit_log (actor, action, subject, details)
    VALUES (p_actor, 'api_key.created', 'api_key:' || v_id,
            jsonb_build_object('name', p_name, 'scopes', to_jsonb(p_scopes)));
    RETURN v_id;
END;
$$;
