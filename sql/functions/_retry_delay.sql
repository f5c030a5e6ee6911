-- How long a step waits before attempt `p_attempt + 1`: exponential (initial * 2^(n-1), capped
-- at max) or fixed, with "equal jitter" (50-100% of the delay) when asked, and never less
-- than what the failing service asked for (Retry-After).
CREATE OR REPLACE FUNCTION flowsync._retry_delay(
    p_backoff         text,
    p_initial_ms      integer,
    p_max_ms          integer,
    p_jitter          boolean,
    p_attempt         integer,
    p_retry_after_ms  bigint DEFAULT NULL
) RETURNS interval
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ms double precision;
BEGIN
    IF p_backoff = 'fixed' THEN
        v_ms := p_initial_ms;
    ELSE
        v_ms := least(p_max_ms::double precision,
                      p_initial_ms * power(2::double precision, least(greatest(p_attempt, 1) - 1, 40)));
    END IF;
    IF p_jitter THEN
        v_ms := v_ms * (0.5 + random() / 2);
    END IF;
    v_ms := greatest(v_ms, coalesce(p_retry_after_ms, 0)::double precision);
    RETURN make_interval(secs => v_ms / 1000.0);
END;
$$;
