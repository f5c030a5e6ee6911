-- The version of p_workflow a start runs (p_version, else the latest) and its number of
-- nodes, refusing an archived workflow (FS002) or a version that does not exist (FS003).
-- Shared by start_execution and start_executions.
CREATE OR REPLACE FUNCTION flowsync._version_to_start(
    p_workflow  flowsync.workflows,
    p_version   integer,
    OUT version integer,
    OUT steps   integer
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_workflow.archived_at IS NOT NULL THEN
        RAISE EXCEPTION 'workflow "%" is archived; restore it to start executions', p_workflow.name
            USING ERRCODE = 'FS002';
    END IF;
    version := coalesce(p_version, p_workflow.latest_version);
    SELECT count(*) INTO steps FROM flowsync.workflow_nodes n
    WHERE n.workflow_id = p_workflow.id AND n.version = _version_to_start.version;
    IF steps = 0 THEN
        RAISE EXCEPTION 'workflow "%" has no version %', p_workflow.name, version
            USING ERRCODE = 'FS003';
    END IF;
END;
$$;
