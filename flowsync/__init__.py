"""FlowSync: a durable, Postgres-native workflow orchestration engine."""

__version__ = "0.1.0"
