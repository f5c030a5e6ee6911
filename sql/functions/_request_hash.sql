-- What makes two starts "the same request" for an idempotency key: the input (jsonb::text is
-- canonical; a NULL input is the empty object) and the version asked for (NULL: the latest,
-- whichever that is). start_execution and start_executions store it in executions.request_hash.
CREATE OR REPLACE FUNCTION flowsync._request_hash(p_input jsonb, p_version integer)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT md5(coalesce(p_input, '{}'::jsonb)::text || '@' || coalesce(p_version::text, 'latest'))
$$;
