"""Parse and validate workflow definitions: every problem, with its path (pure, no I/O).

Two phases. Decoding checks JSON types and fields the way msgspec does, but field by field so
one bad node does not hide the next. Semantic checks then look at names, types, configs,
expressions and the graph: dependencies, `when` branches and cycles.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import msgspec

from flowsync.definition.configs import (
    BUILTIN_NODE_TYPES,
    check_config,
    check_duration,
    check_expression,
    is_custom_type,
)
from flowsync.definition.durations import format_duration
from flowsync.definition.model import (
    DEFAULT_RETRY,
    MAX_DEFINITION_BYTES,
    MAX_NODES,
    NAME_PATTERN,
    NODE_ID_PATTERN,
    QUEUE_PATTERN,
    DefinitionError,
    Dependency,
    Node,
    RetryPolicy,
    RetrySettings,
    ValidationIssue,
    WorkflowDefinition,
    check_value,
    join_path,
    resolve_retry,
)

__all__ = ["parse_definition", "validate_definition"]

_NAME = re.compile(NAME_PATTERN)
_NODE_ID = re.compile(NODE_ID_PATTERN)
_QUEUE = re.compile(QUEUE_PATTERN)
_NODE_PATH = re.compile(r"^nodes\[(\d+)\]")


def parse_definition(raw: bytes | str | dict[str, Any]) -> WorkflowDefinition:
    """Decode and validate a definition; raise DefinitionError listing every issue found.

    The result is normalised: built-in configs lose fields equal to their defaults and
    `{"node": "a"}` dependencies become `"a"`, so canonical_json() is stable.
    """
    issues: list[ValidationIssue] = []
    data = _load(raw, issues)
    definition = _decode(data, issues) if data is not None else None
    if definition is None:
        raise DefinitionError(issues)
    definition = _check(definition, issues)
    if issues:
        raise DefinitionError(_in_document_order(issues))
    return definition


def validate_definition(definition: WorkflowDefinition) -> list[ValidationIssue]:
    """The semantic issues of an already decoded definition (empty when it is valid)."""
    issues: list[ValidationIssue] = []
    _check(definition, issues)
    return _in_document_order(issues)


def _in_document_order(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """Top-level fields first, then node by node, then output (stable within each)."""

    def key(issue: ValidationIssue) -> tuple[int, int]:
        if match := _NODE_PATH.match(issue.path):
            return (1, int(match.group(1)))
        return (2, 0) if issue.path.startswith("output") else (0, 0)

    return sorted(issues, key=key)


# -- phase 1: bytes -> JSON -> structs ----------------------------------------------------------


def _load(
    raw: bytes | str | dict[str, Any], issues: list[ValidationIssue]
) -> dict[str, Any] | None:
    try:
        if isinstance(raw, dict):
            size = len(msgspec.json.encode(raw))
            data: Any = raw
        else:
            size = len(raw.encode()) if isinstance(raw, str) else len(raw)
            if size > MAX_DEFINITION_BYTES:
                issues.append(_too_big(size))
                return None
            data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        detail = str(exc).removeprefix("JSON is malformed: ")
        issues.append(ValidationIssue("$", f"invalid JSON: {detail[:1].lower()}{detail[1:]}"))
        return None
    except (TypeError, ValueError) as exc:  # a dict holding values JSON cannot carry
        issues.append(ValidationIssue("$", f"not JSON: {exc}"))
        return None
    except RecursionError:
        issues.append(ValidationIssue("$", "the JSON is nested too deeply"))
        return None
    if size > MAX_DEFINITION_BYTES:
        issues.append(_too_big(size))
        return None
    if not isinstance(data, dict):
        issues.append(ValidationIssue("$", f"expected a JSON object, got {_json_type(data)}"))
        return None
    return data


def _decode(data: dict[str, Any], issues: list[ValidationIssue]) -> WorkflowDefinition | None:
    nodes = data.get("nodes")
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        issues.append(
            ValidationIssue("nodes", f"too many nodes: {len(nodes)} (at most {MAX_NODES})")
        )
        check_value({**data, "nodes": []}, WorkflowDefinition, "", issues)
        return None
    try:
        if not check_value(data, WorkflowDefinition, "", issues):
            return None
        return msgspec.convert(data, WorkflowDefinition)
    except RecursionError:
        issues.append(ValidationIssue("$", "the JSON is nested too deeply"))
        return None


def _too_big(size: int) -> ValidationIssue:
    return ValidationIssue(
        "$", f"the definition is {size:,} bytes; the limit is {MAX_DEFINITION_BYTES:,} (1 MiB)"
    )


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    if value is None:
        return "null"
    return "an array" if isinstance(value, list) else names.get(type(value), type(value).__name__)


# -- phase 2: meaning ---------------------------------------------------------------------------


def _check(definition: WorkflowDefinition, issues: list[ValidationIssue]) -> WorkflowDefinition:
    """Record semantic issues; return the definition with configs and dependencies normalised."""
    if not _NAME.match(definition.name):
        issues.append(
            ValidationIssue(
                "name",
                f'"{definition.name}" is not a valid workflow name: use 1 to 100 lowercase '
                'letters, digits, "_", "." or "-", starting with a letter or digit',
            )
        )
    base_retry = _check_defaults(definition, issues)
    for key, source in definition.output.items():
        check_expression(source, join_path("output", key), issues)
    nodes = definition.nodes
    if not nodes:
        issues.append(ValidationIssue("nodes", "a workflow needs at least one node"))
        return definition
    if len(nodes) > MAX_NODES:
        issues.append(
            ValidationIssue("nodes", f"too many nodes: {len(nodes)} (at most {MAX_NODES})")
        )
        return definition

    index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if not _NODE_ID.match(node.id):
            issues.append(
                ValidationIssue(
                    f"nodes[{i}].id",
                    f'"{node.id}" is not a valid node id: use 1 to 64 letters, digits, "_" or "-", '
                    "starting with a letter or _",
                )
            )
        if node.id in index:
            message = f'duplicate node id "{node.id}" (first used by nodes[{index[node.id]}])'
            issues.append(ValidationIssue(f"nodes[{i}].id", message))
        else:
            index[node.id] = i

    normalised = [
        _check_node(i, node, nodes, index, base_retry, issues) for i, node in enumerate(nodes)
    ]
    _check_cycles(nodes, index, issues)
    return msgspec.structs.replace(definition, nodes=normalised)


def _check_defaults(definition: WorkflowDefinition, issues: list[ValidationIssue]) -> RetrySettings:
    """Check `defaults`; return the retry settings nodes inherit."""
    defaults = definition.defaults
    if defaults is None:
        return DEFAULT_RETRY
    if defaults.timeout is not None:
        check_duration(defaults.timeout, "defaults.timeout", issues, positive=True)
    if defaults.queue is not None:
        _check_queue(defaults.queue, "defaults.queue", issues)
    if defaults.retry is None:
        return DEFAULT_RETRY
    if not _check_retry(defaults.retry, "defaults.retry", DEFAULT_RETRY, issues):
        return DEFAULT_RETRY
    return resolve_retry(defaults.retry)


def _check_node(
    i: int,
    node: Node,
    nodes: list[Node],
    index: dict[str, int],
    base_retry: RetrySettings,
    issues: list[ValidationIssue],
) -> Node:
    path = f"nodes[{i}]"
    config = node.config
    if node.type in BUILTIN_NODE_TYPES or is_custom_type(node.type):
        config = check_config(node.type, node.config, f"{path}.config", issues)
    else:
        issues.append(ValidationIssue(f"{path}.type", _unknown_type(node.type)))
    if node.retry is not None:
        _check_retry(node.retry, f"{path}.retry", base_retry, issues)
    if node.timeout is not None:
        check_duration(node.timeout, f"{path}.timeout", issues, positive=True)
    if node.queue is not None:
        _check_queue(node.queue, f"{path}.queue", issues)

    seen: dict[str, int] = {}
    depends_on: list[str | Dependency] = []
    for j, dep in enumerate(node.dependencies):
        where = f"{path}.depends_on[{j}]"
        upstream = index.get(dep.node)
        if dep.node == node.id:
            issues.append(ValidationIssue(where, "a node cannot depend on itself"))
        elif upstream is None:
            issues.append(ValidationIssue(where, _unknown_node(dep.node, index)))
        elif dep.node in seen:
            message = f'duplicate dependency on "{dep.node}" (also depends_on[{seen[dep.node]}])'
            issues.append(ValidationIssue(where, message))
        elif dep.when is not None and nodes[upstream].type != "condition":
            issues.append(
                ValidationIssue(
                    f"{where}.when",
                    f'"when" needs a condition node upstream; "{dep.node}" is a node of '
                    f'type "{nodes[upstream].type}"',
                )
            )
        seen.setdefault(dep.node, j)
        depends_on.append(dep.node if dep.when is None else dep)
    return msgspec.structs.replace(node, config=config, depends_on=depends_on)


def _check_retry(
    policy: RetryPolicy, path: str, base: RetrySettings, issues: list[ValidationIssue]
) -> bool:
    """Check a retry block over the settings it overrides; False if it has problems."""
    ok = True
    delays = {"initial": base.initial, "max": base.max}
    for field in delays:
        text = getattr(policy, field)
        if isinstance(text, str):
            value = check_duration(text, f"{path}.{field}", issues)
            ok = ok and value is not None
            delays[field] = delays[field] if value is None else value
    overridden = isinstance(policy.initial, str) or isinstance(policy.max, str)
    if ok and overridden and delays["initial"] > delays["max"]:
        field = "initial" if isinstance(policy.initial, str) else "max"
        issues.append(
            ValidationIssue(
                f"{path}.{field}",
                f"the initial delay ({format_duration(delays['initial'])}) is longer than the "
                f"max delay ({format_duration(delays['max'])})",
            )
        )
        ok = False
    return ok


def _check_queue(queue: str, path: str, issues: list[ValidationIssue]) -> None:
    if not _QUEUE.match(queue):
        issues.append(
            ValidationIssue(
                path,
                f'"{queue}" is not a valid queue name: use 1 to 63 lowercase letters, digits, '
                '"_", "." or "-", starting with a letter or digit',
            )
        )


def _unknown_type(node_type: str) -> str:
    builtin = ", ".join(sorted(BUILTIN_NODE_TYPES))
    close = difflib.get_close_matches(node_type, sorted(BUILTIN_NODE_TYPES), n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return (
        f'unknown node type "{node_type}"; {hint}built-in types are {builtin}, and a custom '
        'action registered by a worker is named with a dot, like "billing.charge"'
    )


def _unknown_node(node_id: str, index: dict[str, int]) -> str:
    close = difflib.get_close_matches(node_id, list(index), n=1)
    return f'unknown node "{node_id}"' + (f' (did you mean "{close[0]}"?)' if close else "")


def _check_cycles(nodes: list[Node], index: dict[str, int], issues: list[ValidationIssue]) -> None:
    """Report cycles as `cycle: a -> b -> a` (arrows point downstream), one per cycle found.

    Kahn's algorithm strips every node that is not on or behind a cycle; each node left has a
    predecessor that is left too, so walking predecessors from it must close a cycle. Both
    steps are iterative and linear in the size of the graph.
    """
    count = len(nodes)
    # preds[v] = [(u, j)]: node v depends on u through depends_on[j]
    preds: list[list[tuple[int, int]]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    for v, node in enumerate(nodes):
        if index.get(node.id) != v:
            continue  # a duplicate id: its edges are ambiguous and already reported
        seen: set[int] = set()
        for j, upstream_id in enumerate(node.upstream):
            u = index.get(upstream_id)
            if u is None or u == v or u in seen:
                continue
            seen.add(u)
            preds[v].append((u, j))
            succs[u].append(v)

    indegree = [len(p) for p in preds]
    ready = [v for v in range(count) if indegree[v] == 0]
    while ready:
        for v in succs[ready.pop()]:
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)

    state = [0] * count  # 0 = not visited, 1 = on the current walk, 2 = done
    for start in range(count):
        if indegree[start] == 0 or state[start]:
            continue
        walk: list[int] = []
        v = start
        while state[v] == 0:
            state[v] = 1
            walk.append(v)
            v = next(u for u, _ in preds[v] if indegree[u] > 0)
        if state[v] == 1:
            cycle = walk[walk.index(v) :][::-1]  # now in downstream order
            first = cycle.index(min(cycle))
            cycle = cycle[first:] + cycle[:first]
            closing = next(j for u, j in preds[cycle[0]] if u == cycle[-1])
            names = " -> ".join(nodes[k].id for k in [*cycle, cycle[0]])
            issues.append(
                ValidationIssue(f"nodes[{cycle[0]}].depends_on[{closing}]", f"cycle: {names}")
            )
        for k in walk:
            state[k] = 2
