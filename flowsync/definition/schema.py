"""The published JSON Schema (draft 2020-12) of the workflow definition format."""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Any

import msgspec

from flowsync.definition.configs import CONFIG_TYPES, CUSTOM_TYPE_PATTERN
from flowsync.definition.model import WorkflowDefinition

__all__ = ["SCHEMA_DIALECT", "definition_json_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def definition_json_schema() -> dict[str, Any]:
    """The JSON Schema of a definition, each node's `config` tied to its `type` (a fresh copy).

    The schema catches shapes and types; some rules need parse_definition (cycles, unknown
    dependencies, expression syntax, duration ranges).
    """
    return copy.deepcopy(_build())


@functools.cache
def _build() -> dict[str, Any]:
    config_types = list(CONFIG_TYPES.items())
    (root, *_), defs = msgspec.json.schema_components(
        [WorkflowDefinition, *(config_type for _, config_type in config_types)],
        ref_template="#/$defs/{name}",
    )
    node = defs["Node"]
    node["properties"]["type"] = {
        "description": "A built-in type, or a dotted name such as billing.charge for a custom "
        "action registered by a worker.",
        "anyOf": [
            {"enum": sorted(CONFIG_TYPES)},
            {"type": "string", "pattern": CUSTOM_TYPE_PATTERN},
        ],
    }
    rules: list[dict[str, Any]] = []
    for node_type, config_type in config_types:
        then: dict[str, Any] = {
            "properties": {"config": {"$ref": f"#/$defs/{config_type.__name__}"}}
        }
        if defs[config_type.__name__].get("required"):
            then["required"] = ["config"]
        rules.append(
            {
                "if": {"properties": {"type": {"const": node_type}}, "required": ["type"]},
                "then": then,
            }
        )
    node["allOf"] = rules
    for component in defs.values():
        if "description" in component:  # docstrings arrive with their indentation
            component["description"] = " ".join(inspect.cleandoc(component["description"]).split())
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "FlowSync workflow definition",
        "description": "A workflow: a DAG of nodes (steps) run by FlowSync workers.",
        **root,
        "$defs": defs,
    }
