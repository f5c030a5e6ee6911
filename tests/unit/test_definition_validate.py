"""Semantic validation: every rejection class, each with its exact path and a human message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowsync.definition import (
    DefinitionError,
    ValidationIssue,
    WorkflowDefinition,
    parse_definition,
    validate_definition,
)

BASE: dict[str, Any] = {
    "name": "orders",
    "nodes": [
        {"id": "fetch", "type": "http", "config": {"url": "https://x.example/{{ input.id }}"}},
        {"id": "check", "type": "condition", "depends_on": ["fetch"], "config": {"expr": "true"}},
        {"id": "ship", "type": "noop", "depends_on": [{"node": "check", "when": True}]},
    ],
}


def issues_of(raw: Any) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(raw)
    return [str(issue) for issue in info.value.issues]


def with_node(node: dict[str, Any], **top: Any) -> dict[str, Any]:
    """BASE plus one more node (at index 3) and top-level overrides."""
    raw = copy.deepcopy(BASE)
    raw["nodes"].append(node)
    raw.update(top)
    return raw


def test_base_is_valid() -> None:
    assert parse_definition(BASE).name == "orders"


@pytest.mark.parametrize(
    "name", ["Orders", "", "-orders", ".x", "has space", "a" * 101, "émile", "a/b"]
)
def test_bad_names(name: str) -> None:
    [issue] = issues_of(dict(BASE, name=name))
    assert issue.startswith(f'name: "{name}" is not a valid workflow name: use 1 to 100 lowercase')


@pytest.mark.parametrize("name", ["a", "0", "orders.v2", "order-paid_2", "a" * 100])
def test_good_names(name: str) -> None:
    assert parse_definition(dict(BASE, name=name)).name == name


def test_empty_workflow() -> None:
    assert issues_of({"name": "x", "nodes": []}) == ["nodes: a workflow needs at least one node"]


# Each case: a node added at nodes[3] (maybe with top-level changes) -> the one expected issue.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "duplicate id",
        {"id": "fetch", "type": "noop"},
        {},
        'nodes[3].id: duplicate node id "fetch" (first used by nodes[0])',
    ),
    (
        "bad id",
        {"id": "9lives", "type": "noop"},
        {},
        'nodes[3].id: "9lives" is not a valid node id: use 1 to 64 letters, digits, "_" or "-", '
        "starting with a letter or _",
    ),
    ("long id", {"id": "a" * 65, "type": "noop"}, {}, "nodes[3].id: "),
    (
        "unknown dependency",
        {"id": "x", "type": "noop", "depends_on": ["shp"]},
        {},
        'nodes[3].depends_on[0]: unknown node "shp" (did you mean "ship"?)',
    ),
    (
        "unknown dependency, no hint",
        {"id": "x", "type": "noop", "depends_on": ["zzz"]},
        {},
        'nodes[3].depends_on[0]: unknown node "zzz"',
    ),
    (
        "unknown dependency object",
        {"id": "x", "type": "noop", "depends_on": ["ship", {"node": "nope"}]},
        {},
        'nodes[3].depends_on[1]: unknown node "nope"',
    ),
    (
        "self dependency",
        {"id": "x", "type": "noop", "depends_on": ["fetch", "x"]},
        {},
        "nodes[3].depends_on[1]: a node cannot depend on itself",
    ),
    (
        "duplicate dependency",
        {"id": "x", "type": "noop", "depends_on": ["fetch", {"node": "fetch"}]},
        {},
        'nodes[3].depends_on[1]: duplicate dependency on "fetch" (also depends_on[0])',
    ),
    (
        "duplicate branch",
        {
            "id": "x",
            "type": "noop",
            "depends_on": [{"node": "check", "when": True}, {"node": "check", "when": False}],
        },
        {},
        'nodes[3].depends_on[1]: duplicate dependency on "check" (also depends_on[0])',
    ),
    (
        "when on a non-condition",
        {"id": "x", "type": "noop", "depends_on": [{"node": "fetch", "when": True}]},
        {},
        'nodes[3].depends_on[0].when: "when" needs a condition node upstream; "fetch" is a node of '
        'type "http"',
    ),
    (
        "unknown type",
        {"id": "x", "type": "htp"},
        {},
        'nodes[3].type: unknown node type "htp"; did you mean "http"? '
        "built-in types are condition, "
        "delay, echo, email, http, noop, pgmq_send, transform, webhook, and a custom action "
        "registered by a "
        'worker is named with a dot, like "billing.charge"',
    ),
    (
        "undotted custom type",
        {"id": "x", "type": "Billing.Charge"},
        {},
        "nodes[3].type: unknown node type",
    ),
    ("trailing dot", {"id": "x", "type": "billing."}, {}, "nodes[3].type: unknown node type"),
    (
        "bad timeout",
        {"id": "x", "type": "noop", "timeout": "5 min"},
        {},
        'nodes[3].timeout: invalid duration "5 min": expected whole numbers followed by a unit',
    ),
    (
        "zero timeout",
        {"id": "x", "type": "noop", "timeout": "0s"},
        {},
        "nodes[3].timeout: must be longer than zero",
    ),
    (
        "bad retry duration",
        {"id": "x", "type": "noop", "retry": {"initial": "1h1h"}},
        {},
        'nodes[3].retry.initial: invalid duration "1h1h": units must appear once each',
    ),
    (
        "retry initial > max",
        {"id": "x", "type": "noop", "retry": {"initial": "10m", "max": "1m"}},
        {},
        "nodes[3].retry.initial: the initial delay (10m) is longer than the max delay (1m)",
    ),
    (
        "retry max < built-in initial",
        {"id": "x", "type": "noop", "retry": {"max": "500ms"}},
        {},
        "nodes[3].retry.max: the initial delay (1s) is longer than the max delay (500ms)",
    ),
    (
        "retry max < default initial",
        {"id": "x", "type": "noop", "retry": {"max": "5s"}},
        {"defaults": {"retry": {"initial": "10s"}}},
        "nodes[3].retry.max: the initial delay (10s) is longer than the max delay (5s)",
    ),
    (
        "bad queue",
        {"id": "x", "type": "noop", "queue": "Fast Lane"},
        {},
        'nodes[3].queue: "Fast Lane" is not a valid queue name: use 1 to 63 lowercase letters',
    ),
    (
        "defaults timeout",
        {"id": "x", "type": "noop"},
        {"defaults": {"timeout": "soon"}},
        'defaults.timeout: invalid duration "soon"',
    ),
    (
        "defaults queue",
        {"id": "x", "type": "noop"},
        {"defaults": {"queue": "-q"}},
        'defaults.queue: "-q" is not a valid queue name',
    ),
    (
        "defaults retry",
        {"id": "x", "type": "noop"},
        {"defaults": {"retry": {"initial": "2m", "max": "1m"}}},
        "defaults.retry.initial: the initial delay (2m) is longer than the max delay (1m)",
    ),
    (
        "output syntax",
        {"id": "x", "type": "noop"},
        {"output": {"total": "steps.x.output +"}},
        "output.total: syntax error at column 17: mismatched input '<EOF>'",
    ),
    (
        "output variable",
        {"id": "x", "type": "noop"},
        {"output": {"a-b": "inputs.x"}},
        'output["a-b"]: unknown variable "inputs" '
        "(expressions can read env, execution, input, steps)",
    ),
    # configs, per type
    (
        "http without url",
        {"id": "x", "type": "http"},
        {},
        "nodes[3].config.url: required field is missing",
    ),
    (
        "http unknown field",
        {"id": "x", "type": "http", "config": {"url": "u", "methd": "GET"}},
        {},
        'nodes[3].config.methd: unknown field "methd" '
        '(did you mean "method"? allowed: method, url, '
        "headers, query, json, body, timeout, retry_on_status, max_response_bytes)",
    ),
    (
        "http method",
        {"id": "x", "type": "http", "config": {"url": "u", "method": "get"}},
        {},
        'nodes[3].config.method: expected one of "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"; '
        'got "get"',
    ),
    (
        "http json and body",
        {"id": "x", "type": "http", "config": {"url": "u", "json": None, "body": "b"}},
        {},
        'nodes[3].config.body: set either "json" or "body", not both',
    ),
    (
        "http status",
        {"id": "x", "type": "http", "config": {"url": "u", "retry_on_status": [500, 99]}},
        {},
        "nodes[3].config.retry_on_status[1]: expected int >= 100",
    ),
    (
        "http max bytes",
        {"id": "x", "type": "http", "config": {"url": "u", "max_response_bytes": 0}},
        {},
        "nodes[3].config.max_response_bytes: expected int >= 1",
    ),
    (
        "http timeout",
        {"id": "x", "type": "http", "config": {"url": "u", "timeout": "1 s"}},
        {},
        'nodes[3].config.timeout: invalid duration "1 s"',
    ),
    (
        "http header template",
        {"id": "x", "type": "http", "config": {"url": "u", "headers": {"X-Api-Key": "{{ env.KEY"}}},
        {},
        'nodes[3].config.headers["X-Api-Key"]: unclosed "{{" at character 1',
    ),
    (
        "http header type",
        {"id": "x", "type": "http", "config": {"url": "u", "headers": {"A": 1}}},
        {},
        "nodes[3].config.headers.A: expected str, got int",
    ),
    (
        "http json template",
        {
            "id": "x",
            "type": "http",
            "config": {"url": "u", "json": {"items": [{"sku": "{{ 1 + }}"}]}},
        },
        {},
        'nodes[3].config.json.items[0].sku: placeholder "{{ 1 + }}": syntax error at column 4',
    ),
    (
        "http url template",
        {"id": "x", "type": "http", "config": {"url": "https://x/{{ stpes.a }}"}},
        {},
        'nodes[3].config.url: unknown variable "stpes" '
        "(expressions can read env, execution, input, "
        "steps)",
    ),
    (
        "webhook without url",
        {"id": "x", "type": "webhook", "config": {"payload": {}}},
        {},
        "nodes[3].config.url: required field is missing",
    ),
    (
        "webhook payload",
        {"id": "x", "type": "webhook", "config": {"url": "u", "payload": ["{{ }}"]}},
        {},
        'nodes[3].config.payload[0]: empty placeholder "{{ }}"',
    ),
    (
        "email no recipients",
        {"id": "x", "type": "email", "config": {"to": []}},
        {},
        "nodes[3].config.to: at least one recipient is required",
    ),
    (
        "email missing to",
        {"id": "x", "type": "email", "config": {"subject": "s"}},
        {},
        "nodes[3].config.to: required field is missing",
    ),
    (
        "email from",
        {"id": "x", "type": "email", "config": {"to": ["a@b"], "from": "{{ x }}"}},
        {},
        'nodes[3].config.from: unknown variable "x"',
    ),
    (
        "delay neither",
        {"id": "x", "type": "delay"},
        {},
        'nodes[3].config: set exactly one of "duration" or "until"',
    ),
    (
        "delay both",
        {"id": "x", "type": "delay", "config": {"duration": "1s", "until": "t"}},
        {},
        'nodes[3].config: set exactly one of "duration" or "until"',
    ),
    (
        "delay duration",
        {"id": "x", "type": "delay", "config": {"duration": "ten minutes"}},
        {},
        'nodes[3].config.duration: invalid duration "ten minutes"',
    ),
    (
        "delay until",
        {"id": "x", "type": "delay", "config": {"until": "{{ input.at"}},
        {},
        'nodes[3].config.until: unclosed "{{"',
    ),
    (
        "condition without expr",
        {"id": "x", "type": "condition"},
        {},
        "nodes[3].config.expr: required field is missing",
    ),
    (
        "condition syntax",
        {"id": "x", "type": "condition", "config": {"expr": "steps.fetch.output >"}},
        {},
        "nodes[3].config.expr: syntax error at column 21: mismatched input '<EOF>'",
    ),
    (
        "condition variable",
        {"id": "x", "type": "condition", "config": {"expr": "step.fetch.ok"}},
        {},
        'nodes[3].config.expr: unknown variable "step"',
    ),
    (
        "condition empty",
        {"id": "x", "type": "condition", "config": {"expr": ""}},
        {},
        "nodes[3].config.expr: the expression is empty",
    ),
    (
        "transform without value",
        {"id": "x", "type": "transform", "config": {}},
        {},
        "nodes[3].config.value: required field is missing",
    ),
    (
        "transform template",
        {"id": "x", "type": "transform", "config": {"value": {"a": "{{ 1 +}}"}}},
        {},
        'nodes[3].config.value.a: placeholder "{{ 1 + }}": syntax error',
    ),
    (
        "noop config",
        {"id": "x", "type": "noop", "config": {"a": 1}},
        {},
        'nodes[3].config.a: unknown field "a" (allowed: none)',
    ),
    (
        "echo config",
        {"id": "x", "type": "echo", "config": {"value": "{{ nope }}"}},
        {},
        'nodes[3].config.value: unknown variable "nope"',
    ),
    (
        "custom config",
        {"id": "x", "type": "billing.charge", "config": {"a": {"b": ["{{ 1 + }}"]}}},
        {},
        'nodes[3].config.a.b[0]: placeholder "{{ 1 + }}": syntax error',
    ),
]


@pytest.mark.parametrize(
    ("node", "top", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_rejections(node: dict[str, Any], top: dict[str, Any], expected: str) -> None:
    [issue] = issues_of(with_node(node, **top))
    assert issue.startswith(expected), issue


@pytest.mark.parametrize(
    "node",
    [
        {"id": "x", "type": "billing.charge", "config": {"anything": [1, {"goes": "{{ input }}"}]}},
        {"id": "x", "type": "a.b.c"},
        {"id": "x", "type": "delay", "config": {"duration": "0s"}},
        {"id": "x", "type": "delay", "config": {"until": "2030-01-01T00:00:00Z"}},
        {"id": "x", "type": "email", "config": {"to": ["a@example.com"]}},
        {"id": "x", "type": "echo"},
        {"id": "x", "type": "transform", "config": {"value": None}},
        {"id": "x", "type": "http", "config": {"url": "u", "json": None}},
        {"id": "x", "type": "condition", "config": {"expr": "[1, 2].exists(n, n > 1)"}},
        {"id": "_x-1", "type": "noop", "depends_on": [{"node": "check", "when": "big"}]},
        {"id": "x", "type": "noop", "retry": {"initial": "0s", "max": "0s"}},
        {"id": "x", "type": "noop", "depends_on": ["check"], "join": "none_failed"},
    ],
)
def test_acceptances(node: dict[str, Any]) -> None:
    assert parse_definition(with_node(node)).nodes[3].id == node["id"]


def test_all_issues_are_reported_at_once_in_document_order() -> None:
    raw = {
        "name": "Bad Name",
        "output": {"x": "1 +"},
        "defaults": {"timeout": "0s"},
        "nodes": [
            {"id": "a", "type": "htp", "depends_on": ["shp", "a"]},
            {"id": "b", "type": "http", "config": {"url": "{{ 1 + }}", "methd": "GET"}},
            {"id": "a", "type": "delay", "depends_on": [{"node": "b", "when": True}]},
            {"id": "c", "type": "noop", "depends_on": ["d"]},
            {"id": "d", "type": "noop", "depends_on": ["c"]},
        ],
    }
    assert [issue.split(": ")[0] for issue in issues_of(raw)] == [
        "name",
        "defaults.timeout",
        "nodes[0].type",
        "nodes[0].depends_on[0]",
        "nodes[0].depends_on[1]",
        "nodes[1].config.methd",
        "nodes[1].config.url",
        "nodes[2].id",
        "nodes[2].config",
        "nodes[2].depends_on[0].when",
        "nodes[3].depends_on[0]",
        "output.x",
    ]


def test_validate_definition_checks_a_decoded_struct() -> None:
    good = parse_definition(BASE)
    assert validate_definition(good) == []
    bad = WorkflowDefinition(name="x", nodes=[])
    assert validate_definition(bad) == [
        ValidationIssue(path="nodes", message="a workflow needs at least one node")
    ]
