"""What FlowSync is measured against, on the same server in the same run: the physical floor
(a minimal SKIP LOCKED job table) and PgQueuer."""
