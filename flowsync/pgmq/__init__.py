"""pgmq interop (the optional `flowsync[pgmq]` extra): queue-consuming triggers, the installer.

A `pgmq` trigger consumes a named PGMQ queue: each message starts one execution, and is
archived in the transaction that starts it. The `pgmq_send` action (flowsync.actions) sends a
step's result to a queue. PGMQ's SQL comes from the `pgmq` package and needs no C extension.
"""

from flowsync.pgmq.consumer import consume_pgmq_triggers

__all__ = ["consume_pgmq_triggers"]
