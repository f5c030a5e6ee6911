-- Whether a step runs, is skipped, or waits, given its join rule and what its upstream did.
-- 'failed' counts failed, dead and cancelled upstream steps; 'skipped' counts skipped ones
-- and condition branches not taken.
CREATE OR REPLACE FUNCTION flowsync._join_decision(
    p_rule      flowsync.join_rule,
    p_total     integer,
    p_succeeded integer,
    p_failed    integer,
    p_skipped   integer
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_total = 0 THEN 'run'
        WHEN p_rule = 'all_success' THEN
            CASE WHEN p_failed + p_skipped > 0 THEN 'skip'
                 WHEN p_succeeded = p_total THEN 'run' ELSE 'wait' END
        WHEN p_rule = 'one_success' THEN
            CASE WHEN p_succeeded > 0 THEN 'run'
                 WHEN p_failed + p_skipped = p_total THEN 'skip' ELSE 'wait' END
        WHEN p_rule = 'all_done' THEN
            CASE WHEN p_succeeded + p_failed + p_skipped = p_total THEN 'run' ELSE 'wait' END
        -- none_failed: no upstream failed and at least one succeeded (all skipped: skip on)
        ELSE
            CASE WHEN p_failed > 0 THEN 'skip'
                 WHEN p_succeeded + p_skipped < p_total THEN 'wait'
                 WHEN p_succeeded > 0 THEN 'run' ELSE 'skip' END
    END
$$;
