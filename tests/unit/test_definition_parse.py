"""Parsing definitions: valid examples, canonical JSON, and the decoding phase's errors."""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsync.definition import (
    BUILTIN_NODE_TYPES,
    MAX_DEFINITION_BYTES,
    MAX_NODES,
    DefinitionError,
    Dependency,
    WorkflowDefinition,
    canonical_json,
    decode_config,
    definition_checksum,
    parse_definition,
)
from flowsync.definition.configs import ConditionConfig, HttpConfig

# DESIGN.md section 4, made complete, plus one node of every other type.
EXAMPLE: dict[str, Any] = {
    "name": "order-paid",
    "description": "Ship paid orders; big ones get a review first.",
    "defaults": {
        "retry": {"max_attempts": 5, "backoff": "exponential", "initial": "1s", "max": "5m"},
        "timeout": "30s",
        "queue": "default",
    },
    "nodes": [
        {
            "id": "fetch",
            "type": "http",
            "config": {"method": "GET", "url": "https://shop.example/orders/{{ input.order_id }}"},
        },
        {
            "id": "big",
            "type": "condition",
            "depends_on": ["fetch"],
            "config": {"expr": "steps.fetch.output.body.total > 1000"},
        },
        {
            "id": "review",
            "type": "http",
            "depends_on": [{"node": "big", "when": True}],
            "config": {
                "method": "POST",
                "url": "https://review.example/queue",
                "headers": {"Authorization": "Bearer {{ env.REVIEW_TOKEN }}"},
                "json": {"order": "{{ steps.fetch.output.body }}", "source": "flowsync"},
                "retry_on_status": [429, 503],
                "timeout": "10s",
            },
            "retry": {"max_attempts": 2},
        },
        {
            "id": "wait",
            "type": "delay",
            "depends_on": [{"node": "big", "when": False}],
            "config": {"duration": "10m"},
        },
        {
            "id": "ship",
            "type": "webhook",
            "depends_on": ["review", "wait"],
            "join": "one_success",
            "config": {
                "url": "https://warehouse.example/hooks/ship",
                "payload": {"order_id": "{{ input.order_id }}", "items": ["{{ input.sku }}"]},
                "secret": "{{ env.WAREHOUSE_SECRET }}",
            },
        },
        {
            "id": "notify",
            "type": "email",
            "depends_on": ["ship"],
            "config": {
                "to": ["{{ input.email }}"],
                "subject": "Order {{ input.order_id }} shipped",
                "body": "Thanks, {{ input.name }}!",
                "from": "shop@example.com",
            },
            "queue": "mail",
            "timeout": "1m",
        },
        {
            "id": "charge",
            "type": "billing.charge",
            "depends_on": ["fetch"],
            "config": {"amount": "{{ steps.fetch.output.body.total }}", "currency": "EUR"},
            "continue_on_failure": True,
            "description": "A custom action registered by a worker.",
        },
        {
            "id": "summary",
            "type": "transform",
            "depends_on": ["notify", "charge"],
            "join": "all_done",
            "config": {"value": {"shipped": "{{ has(steps.ship.output) }}"}},
        },
        {"id": "done", "type": "noop", "depends_on": ["summary"]},
        {"id": "log", "type": "echo", "depends_on": ["done"], "config": {"value": "finished"}},
        {
            "id": "publish",
            "type": "pgmq_send",
            "depends_on": ["done"],
            "config": {"queue": "shipped"},
        },
        {
            "id": "route",
            "type": "condition",
            "depends_on": ["fetch"],
            "config": {"expr": "steps.fetch.output.body.total > 100 ? 'big' : 'small'"},
        },
        {
            "id": "until_monday",
            "type": "delay",
            "depends_on": [{"node": "route", "when": "big"}],
            "config": {"until": "{{ input.monday }}"},
        },
    ],
    "output": {"order": "input.order_id", "total": "steps.fetch.output.body.total"},
}


def issues_of(raw: Any) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(raw)
    return [str(issue) for issue in info.value.issues]


def test_the_example_parses() -> None:
    definition = parse_definition(json.dumps(EXAMPLE))
    assert definition.name == "order-paid"
    assert [node.id for node in definition.nodes][:3] == ["fetch", "big", "review"]
    review = definition.node("review")
    assert review.dependencies == [Dependency(node="big", when=True)]
    assert definition.node("ship").upstream == ["review", "wait"]
    assert {node.type for node in definition.nodes} >= BUILTIN_NODE_TYPES


def test_bytes_str_and_dict_give_the_same_definition() -> None:
    text = json.dumps(EXAMPLE)
    from_str = parse_definition(text)
    assert parse_definition(text.encode()) == from_str
    assert parse_definition(copy.deepcopy(EXAMPLE)) == from_str


def test_resolved_settings() -> None:
    definition = parse_definition(EXAMPLE)
    review = definition.retry_for(definition.node("review"))
    assert (review.max_attempts, review.backoff, review.initial, review.max, review.jitter) == (
        2,
        "exponential",
        timedelta(seconds=1),
        timedelta(minutes=5),
        True,
    )
    assert definition.retry_for(definition.node("fetch")).max_attempts == 5
    assert definition.timeout_for(definition.node("fetch")) == timedelta(seconds=30)
    assert definition.timeout_for(definition.node("notify")) == timedelta(minutes=1)
    assert definition.queue_for(definition.node("notify")) == "mail"
    assert definition.queue_for(definition.node("fetch")) == "default"
    bare = parse_definition({"name": "x", "nodes": [{"id": "a", "type": "noop"}]})
    assert bare.timeout_for(bare.nodes[0]) is None
    assert bare.queue_for(bare.nodes[0]) == "default"
    assert bare.retry_for(bare.nodes[0]).max_attempts == 3
    with pytest.raises(KeyError):
        bare.node("missing")


def test_typed_configs() -> None:
    definition = parse_definition(EXAMPLE)
    fetch = decode_config("http", definition.node("fetch").config)
    assert isinstance(fetch, HttpConfig)
    assert fetch.method == "GET"
    assert isinstance(decode_config("condition", definition.node("big").config), ConditionConfig)
    assert decode_config("billing.charge", {"a": 1}) == {"a": 1}
    with pytest.raises(ValueError, match="unknown node type"):
        decode_config("nope", {})


# -- canonical JSON ---------------------------------------------------------------------------


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@settings(deadline=None, max_examples=30)
@given(st.randoms(use_true_random=False))
def test_canonical_json_ignores_key_order(rng: random.Random) -> None:
    expected = canonical_json(parse_definition(EXAMPLE))
    assert canonical_json(parse_definition(_shuffled(EXAMPLE, rng))) == expected


def test_canonical_json_leaves_out_defaults() -> None:
    explicit = {
        "name": "x",
        "nodes": [
            {"id": "a", "type": "http", "config": {"url": "u", "method": "GET", "headers": {}}},
            {
                "id": "b",
                "type": "noop",
                "depends_on": [{"node": "a"}, {"node": "c", "when": None}],
                "join": "all_success",
                "continue_on_failure": False,
                "config": {},
            },
            {"id": "c", "type": "noop", "depends_on": []},
        ],
        "output": {},
    }
    implicit = {
        "name": "x",
        "nodes": [
            {"id": "a", "type": "http", "config": {"url": "u"}},
            {"id": "b", "type": "noop", "depends_on": ["a", "c"]},
            {"id": "c", "type": "noop"},
        ],
    }
    assert canonical_json(parse_definition(explicit)) == canonical_json(parse_definition(implicit))
    assert json.loads(canonical_json(parse_definition(explicit))) == implicit


def test_canonical_json_round_trips() -> None:
    definition = parse_definition(EXAMPLE)
    again = parse_definition(canonical_json(definition))
    assert again == definition
    assert definition_checksum(again) == definition_checksum(definition)
    assert len(definition_checksum(definition)) == 64


def test_checksum_changes_with_the_definition() -> None:
    changed = copy.deepcopy(EXAMPLE)
    changed["nodes"][3]["config"]["duration"] = "11m"
    assert definition_checksum(parse_definition(changed)) != definition_checksum(
        parse_definition(EXAMPLE)
    )


# -- decoding errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{", "$: invalid JSON: input data was truncated"),
        ('{"name": "x",}', "$: invalid JSON: trailing comma in object (byte 13)"),
        (b"\xff", "$: invalid JSON: invalid character (byte 0)"),
        ("", "$: invalid JSON: input data was truncated"),
        ("[]", "$: expected a JSON object, got an array"),
        ("null", "$: expected a JSON object, got null"),
        ('"x"', "$: expected a JSON object, got a string"),
        (b"[" * 5000 + b"]" * 5000, "$: the JSON is nested too deeply"),
    ],
)
def test_not_a_json_object(raw: Any, expected: str) -> None:
    assert issues_of(raw) == [expected]


def test_size_limit() -> None:
    padding = "x" * MAX_DEFINITION_BYTES
    raw = {"name": "x", "description": padding, "nodes": [{"id": "a", "type": "noop"}]}
    message = "the limit is 1,048,576 (1 MiB)"
    for form in (raw, json.dumps(raw), json.dumps(raw).encode()):
        [issue] = issues_of(form)
        assert issue.startswith("$: the definition is ")
        assert message in issue
    # multi-byte characters count as bytes, not characters
    wide = json.dumps(
        {"name": "x", "description": "é" * (MAX_DEFINITION_BYTES // 2), "nodes": []},
        ensure_ascii=False,
    )
    assert len(wide) < MAX_DEFINITION_BYTES < len(wide.encode())
    assert message in issues_of(wide)[0]
    # just under the limit is fine
    fits = dict(raw, description="x" * (MAX_DEFINITION_BYTES - 200))
    assert parse_definition(fits).description


def test_too_many_nodes() -> None:
    nodes = [{"id": f"n{i}", "type": "noop"} for i in range(MAX_NODES + 1)]
    assert issues_of({"name": "x", "nodes": nodes}) == [
        "nodes: too many nodes: 1001 (at most 1000)"
    ]
    assert issues_of({"name": "x", "bogus": 1, "nodes": nodes}) == [
        "nodes: too many nodes: 1001 (at most 1000)",
        'bogus: unknown field "bogus" (allowed: name, description, defaults, nodes, output)',
    ]
    assert len(parse_definition({"name": "x", "nodes": nodes[:MAX_NODES]}).nodes) == MAX_NODES


def test_a_dict_that_is_not_json() -> None:
    [issue] = issues_of({"name": "x", "nodes": [], "description": object()})
    assert issue.startswith("$: not JSON")


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            {"id": "a", "type": "noop", "retry": {"max_attempts": 0}},
            "nodes[0].retry.max_attempts: expected int >= 1",
        ),
        (
            {"id": "a", "type": "noop", "retry": {"max_attempts": 101}},
            "nodes[0].retry.max_attempts: expected int <= 100",
        ),
        (
            {"id": "a", "type": "noop", "retry": {"max_attempts": "3"}},
            "nodes[0].retry.max_attempts: expected int, got str",
        ),
        (
            {"id": "a", "type": "noop", "retry": {"backoff": "linear"}},
            'nodes[0].retry.backoff: expected one of "exponential", "fixed"; got "linear"',
        ),
        (
            {"id": "a", "type": "noop", "join": "any"},
            'nodes[0].join: expected one of "all_success", "one_success", "all_done", '
            '"none_failed"; got "any"',
        ),
        ({"id": 7, "type": "noop"}, "nodes[0].id: expected str, got int"),
        ({"type": "noop"}, "nodes[0].id: required field is missing"),
        ({"id": "a"}, "nodes[0].type: required field is missing"),
        (
            {"id": "a", "type": "noop", "depends_on": "b"},
            "nodes[0].depends_on: expected array, got str",
        ),
        (
            {"id": "a", "type": "noop", "depends_on": [3]},
            "nodes[0].depends_on[0]: expected str | object, got int",
        ),
        (
            {"id": "a", "type": "noop", "depends_on": [{"when": True}]},
            "nodes[0].depends_on[0].node: required field is missing",
        ),
        (
            {"id": "a", "type": "noop", "depends_on": [{"node": "b", "when": 1}]},
            "nodes[0].depends_on[0].when: expected bool | str | null, got int",
        ),
        (
            {"id": "a", "type": "noop", "depends_on": [{"node": "b", "if": True}]},
            'nodes[0].depends_on[0].if: unknown field "if" (allowed: node, when)',
        ),
        ({"id": "a", "type": "noop", "config": []}, "nodes[0].config: expected object, got array"),
        (
            {"id": "a", "type": "noop", "continue_on_failure": "yes"},
            "nodes[0].continue_on_failure: expected bool, got str",
        ),
        (
            {"id": "a", "type": "noop", "timeout": 30},
            "nodes[0].timeout: expected str | null, got int",
        ),
        (
            {"id": "a", "type": "noop", "retry": {"jitter": True, "tries": 3}},
            'nodes[0].retry.tries: unknown field "tries" '
            "(allowed: max_attempts, backoff, initial, max, jitter)",
        ),
        (
            {"id": "a", "type": "noop", "dependson": []},
            'nodes[0].dependson: unknown field "dependson" (did you mean "depends_on"?',
        ),
        ("a", "nodes[0]: expected object, got str"),
    ],
)
def test_wrong_types_and_fields(node: Any, expected: str) -> None:
    [issue] = issues_of({"name": "x", "nodes": [node]})
    assert issue.startswith(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"nodes": [{"id": "a", "type": "noop"}]}, "name: required field is missing"),
        ({"name": "x"}, "nodes: required field is missing"),
        ({"name": 1, "nodes": []}, "name: expected str, got int"),
        ({"name": "x", "nodes": {}}, "nodes: expected array, got object"),
        (
            {"name": "x", "nodes": [], "defaults": {"retry": {"max": 5}}},
            "defaults.retry.max: expected str, got int",
        ),
        ({"name": "x", "nodes": [], "output": {"total": 1}}, "output.total: expected str, got int"),
        ({"name": "x", "nodes": [], "output": {"a b": 1}}, 'output["a b"]: expected str, got int'),
        ({"name": "x", "nodes": [], "version": 2}, 'version: unknown field "version"'),
    ],
)
def test_wrong_top_level_fields(raw: Any, expected: str) -> None:
    [issue] = issues_of(raw)
    assert issue.startswith(expected)


def test_every_decoding_problem_is_reported() -> None:
    raw = {
        "name": 5,
        "extra": True,
        "nodes": [
            {"id": "a", "type": "noop", "retry": {"max_attempts": 0}},
            {"id": "b", "type": "noop"},
            {"id": "c", "type": "noop", "join": "some", "timeout": 1},
            {"type": "noop", "depends_on": [1, "a", {"node": 2}]},
        ],
    }
    paths = [issue.split(":")[0] for issue in issues_of(raw)]
    assert paths == [
        "name",
        "extra",
        "nodes[0].retry.max_attempts",
        "nodes[2].join",
        "nodes[2].timeout",
        "nodes[3].depends_on[0]",
        "nodes[3].depends_on[2].node",
        "nodes[3].id",
    ]


def test_definition_error_message() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(
            {"name": "x", "nodes": [{"id": "a", "type": "noop", "depends_on": ["shp"]}]}
        )
    assert str(info.value) == (
        'invalid workflow definition (1 issue): nodes[0].depends_on[0]: unknown node "shp"'
    )
    assert isinstance(info.value, ValueError)


def test_struct_is_immutable() -> None:
    definition = parse_definition(EXAMPLE)
    with pytest.raises(AttributeError):
        definition.name = "other"  # type: ignore[misc]
    assert isinstance(definition, WorkflowDefinition)
