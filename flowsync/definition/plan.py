"""Compile a validated definition into the engine's plan: nodes with resolved settings + edges."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from flowsync.definition.model import Node, WorkflowDefinition

OUTPUT_NODE_ID = "$output"
OUTPUT_NODE_TYPE = "output"

# `steps.fetch` or `steps["fetch-2"]` anywhere in a template or expression.
_STEP_REFERENCE = re.compile(
    r"""\bsteps\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([A-Za-z0-9_-]+)["']\s*\])"""
)


class PlanNode(msgspec.Struct, frozen=True):
    node_idx: int
    node_id: str
    type: str
    config: dict[str, Any]
    queue: str
    join_rule: str
    timeout_ms: int | None
    max_attempts: int
    backoff: str
    backoff_initial_ms: int
    backoff_max_ms: int
    jitter: bool
    continue_on_failure: bool
    upstream_count: int
    is_leaf: bool
    context_nodes: list[int]


class PlanEdge(msgspec.Struct, frozen=True):
    from_idx: int
    to_idx: int
    when_value: bool | str | None


class Plan(msgspec.Struct, frozen=True):
    nodes: list[PlanNode]
    edges: list[PlanEdge]


def referenced_steps(value: Any) -> set[str]:
    """Node ids that templates/expressions inside `value` read as steps.<id>."""
    found: set[str] = set()
    if isinstance(value, str):
        for dotted, quoted in _STEP_REFERENCE.findall(value):
            found.add(dotted or quoted)
    elif isinstance(value, dict):
        for item in value.values():
            found |= referenced_steps(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_steps(item)
    return found


def build_plan(definition: WorkflowDefinition) -> Plan:
    """The plan save_workflow_version stores with the version (see that function's comment)."""
    index = {node.id: i for i, node in enumerate(definition.nodes)}
    has_dependents = {dep for node in definition.nodes for dep in node.upstream}
    nodes: list[PlanNode] = []
    edges: list[PlanEdge] = []
    for i, node in enumerate(definition.nodes):
        for dep in node.dependencies:
            edges.append(PlanEdge(index[dep.node], i, dep.when))
        context = {index[d] for d in node.upstream}
        context |= {index[r] for r in referenced_steps(node.config) if r in index}
        nodes.append(_plan_node(definition, node, i, node.id not in has_dependents, context))

    if definition.output:
        leaves = [i for i, node in enumerate(definition.nodes) if node.id not in has_dependents]
        out_idx = len(nodes)
        referenced = {index[r] for r in referenced_steps(definition.output) if r in index}
        output_node = Node(
            id="output", type=OUTPUT_NODE_TYPE, depends_on=[], config={}, join="all_done"
        )
        plan_node = _plan_node(definition, output_node, out_idx, True, set(leaves) | referenced)
        nodes = [msgspec.structs.replace(n, is_leaf=False) for n in nodes]
        nodes.append(
            msgspec.structs.replace(
                plan_node,
                node_id=OUTPUT_NODE_ID,
                config={"mapping": definition.output},
                upstream_count=len(leaves),
                max_attempts=1,
            )
        )
        edges += [PlanEdge(leaf, out_idx, None) for leaf in leaves]
    return Plan(nodes, edges)


def _plan_node(
    definition: WorkflowDefinition, node: Node, idx: int, is_leaf: bool, context: set[int]
) -> PlanNode:
    retry = definition.retry_for(node)
    timeout = definition.timeout_for(node)
    return PlanNode(
        node_idx=idx,
        node_id=node.id,
        type=node.type,
        config=dict(node.config),
        queue=definition.queue_for(node),
        join_rule=node.join,
        timeout_ms=None if timeout is None else int(timeout.total_seconds() * 1000),
        max_attempts=retry.max_attempts,
        backoff=retry.backoff,
        backoff_initial_ms=int(retry.initial.total_seconds() * 1000),
        backoff_max_ms=int(retry.max.total_seconds() * 1000),
        jitter=retry.jitter,
        continue_on_failure=node.continue_on_failure,
        upstream_count=len(node.depends_on),
        is_leaf=is_leaf,
        context_nodes=sorted(context),
    )
