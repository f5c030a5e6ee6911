"""The published JSON Schema: well formed, accepts valid definitions, ties config to type."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from flowsync.definition import (
    BUILTIN_NODE_TYPES,
    canonical_json,
    definition_json_schema,
    parse_definition,
)
from tests.unit.test_definition_parse import EXAMPLE


def validator() -> Any:
    schema = definition_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_header() -> None:
    schema = definition_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "FlowSync workflow definition"
    assert schema["$ref"] == "#/$defs/WorkflowDefinition"


def test_is_a_fresh_copy_each_time() -> None:
    schema = definition_json_schema()
    schema["$defs"].clear()
    assert definition_json_schema()["$defs"]


def test_every_builtin_type_has_a_config_rule() -> None:
    schema = definition_json_schema()
    rules = schema["$defs"]["Node"]["allOf"]
    assert {rule["if"]["properties"]["type"]["const"] for rule in rules} == BUILTIN_NODE_TYPES
    for rule in rules:
        ref = rule["then"]["properties"]["config"]["$ref"]
        assert ref.removeprefix("#/$defs/") in schema["$defs"]


def test_descriptions_are_single_lines() -> None:
    for name, component in definition_json_schema()["$defs"].items():
        assert "\n" not in component.get("description", ""), name


def _required_keys_present(schema: dict[str, Any], defs: dict[str, Any], value: Any) -> None:
    """Walk value alongside the schema, asserting each required key of each object is there."""
    if "$ref" in schema:
        _required_keys_present(defs[schema["$ref"].removeprefix("#/$defs/")], defs, value)
    if isinstance(value, dict) and schema.get("type") == "object":
        for key in schema.get("required", []):
            assert key in value, key
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _required_keys_present(sub, defs, value[key])
    if isinstance(value, list) and "items" in schema:
        for item in value:
            _required_keys_present(schema["items"], defs, item)
    for sub in schema.get("anyOf", []):
        if "$ref" in sub and isinstance(value, dict):
            _required_keys_present(sub, defs, value)


def test_example_has_every_required_key() -> None:
    schema = definition_json_schema()
    _required_keys_present(schema, schema["$defs"], EXAMPLE)


def test_valid_definitions_validate() -> None:
    check = validator()
    check.validate(EXAMPLE)
    # the canonical form of a definition also validates
    check.validate(json.loads(canonical_json(parse_definition(EXAMPLE))))


@pytest.mark.parametrize(
    "node",
    [
        {"id": "x", "type": "http"},
        {"id": "x", "type": "http", "config": {}},
        {"id": "x", "type": "http", "config": {"url": "u", "methd": "GET"}},
        {"id": "x", "type": "http", "config": {"url": "u", "method": "get"}},
        {"id": "x", "type": "condition", "config": {"expression": "true"}},
        {"id": "x", "type": "delay", "config": {"duration": "ten"}},
        {"id": "x", "type": "email", "config": {"to": []}},
        {"id": "x", "type": "noop", "config": {"a": 1}},
        {"id": "x", "type": "htp"},
        {"id": "9x", "type": "noop"},
        {"id": "x", "type": "noop", "retry": {"max_attempts": 0}},
        {"id": "x", "type": "noop", "join": "any"},
        {"id": "x", "type": "noop", "extra": 1},
    ],
)
def test_schema_rejects_bad_nodes(node: dict[str, Any]) -> None:
    raw = copy.deepcopy(EXAMPLE)
    raw["nodes"].append(node)
    assert list(validator().iter_errors(raw))


def test_custom_actions_take_free_form_config() -> None:
    raw = copy.deepcopy(EXAMPLE)
    raw["nodes"].append({"id": "x", "type": "crm.sync", "config": {"anything": [1, {"a": None}]}})
    validator().validate(raw)


@pytest.mark.parametrize(
    "change",
    [{"name": "Bad Name"}, {"nodes": []}, {"version": 1}, {"defaults": {"queue": "Q"}}],
)
def test_schema_rejects_bad_workflows(change: dict[str, Any]) -> None:
    raw = dict(copy.deepcopy(EXAMPLE), **change)
    assert list(validator().iter_errors(raw))
