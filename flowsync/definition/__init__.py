"""Workflow definitions: the format, its validation, canonical JSON, schema and picture."""

from flowsync.definition.configs import BUILTIN_NODE_TYPES, CONFIG_TYPES, decode_config
from flowsync.definition.durations import DurationError, format_duration, parse_duration
from flowsync.definition.graph import to_mermaid
from flowsync.definition.model import (
    MAX_DEFINITION_BYTES,
    MAX_NODES,
    Defaults,
    DefinitionError,
    Dependency,
    Node,
    RetryPolicy,
    RetrySettings,
    ValidationIssue,
    WorkflowDefinition,
    canonical_json,
    definition_checksum,
)
from flowsync.definition.schema import definition_json_schema
from flowsync.definition.validate import parse_definition, validate_definition

__all__ = [
    "BUILTIN_NODE_TYPES",
    "CONFIG_TYPES",
    "MAX_DEFINITION_BYTES",
    "MAX_NODES",
    "Defaults",
    "DefinitionError",
    "Dependency",
    "DurationError",
    "Node",
    "RetryPolicy",
    "RetrySettings",
    "ValidationIssue",
    "WorkflowDefinition",
    "canonical_json",
    "decode_config",
    "definition_checksum",
    "definition_json_schema",
    "format_duration",
    "parse_definition",
    "parse_duration",
    "to_mermaid",
    "validate_definition",
]
