"""The graph checks: cycles are found, named in order, and big graphs take linear work."""

from __future__ import annotations

import inspect
import itertools
import re
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flowsync.definition import MAX_NODES, DefinitionError, parse_definition
from flowsync.definition.plan import build_plan

CYCLE = re.compile(r"^nodes\[(\d+)\]\.depends_on\[(\d+)\]: cycle: (.+)$")

# Validating or planning a graph runs about 40 lines of Python per node and edge. A step that
# rescans the edges for every node runs hundreds per node and edge on the graphs below.
LINES_PER_NODE_AND_EDGE = 100
# Frames the validator may stack above its caller; a recursive walk of 1,000 nodes needs 1,000.
STACK_HEADROOM = 100

T = TypeVar("T")


def workflow(deps: dict[str, list[str]]) -> dict[str, Any]:
    """A workflow of noop nodes, in the order given, with these dependencies."""
    return {
        "name": "graph",
        "nodes": [{"id": node, "type": "noop", "depends_on": ups} for node, ups in deps.items()],
    }


def size_of(deps: dict[str, list[str]]) -> int:
    """Nodes plus edges: the size a linear graph algorithm's work is proportional to."""
    return len(deps) + sum(len(ups) for ups in deps.values())


def lines_run(action: Callable[[], T]) -> tuple[T, int]:
    """The result of `action` and how many lines of Python it ran, under a tight stack.

    Counting lines rather than timing makes the bound deterministic; work done inside a single
    C call (a search of a list) goes uncounted. The stack allows STACK_HEADROOM more frames, so
    a recursive graph walk raises RecursionError.
    """
    count = 0

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        count += event == "line"
        return trace

    previous_trace, previous_limit = sys.gettrace(), sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + STACK_HEADROOM)
    sys.settrace(trace)
    try:
        result = action()
    finally:
        sys.settrace(previous_trace)
        sys.setrecursionlimit(previous_limit)
    return result, count


def issues_of(raw: Any) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(raw)
    return [str(issue) for issue in info.value.issues]


def assert_real_cycle(message: str, deps: dict[str, list[str]]) -> list[str]:
    """The message names a cycle that exists: each arrow is a dependency, and it closes."""
    match = CYCLE.match(message)
    assert match, message
    names = match.group(3).split(" -> ")
    assert names[0] == names[-1]
    assert len(set(names[:-1])) == len(names) - 1
    for upstream, downstream in itertools.pairwise(names):
        assert upstream in deps[downstream], f"{upstream} -> {downstream} is not an edge"
    # the path points at the dependency that closes the cycle
    order = list(deps)
    node_index, dep_index = int(match.group(1)), int(match.group(2))
    assert order[node_index] == names[0]
    assert deps[names[0]][dep_index] == names[-2]
    return names


def test_three_node_cycle() -> None:
    deps = {"a": ["c"], "b": ["a"], "c": ["b"]}
    assert issues_of(workflow(deps)) == ["nodes[0].depends_on[0]: cycle: a -> b -> c -> a"]


def test_two_node_cycle_names_the_closing_edge() -> None:
    deps = {"start": [], "a": ["start", "b"], "b": ["a"]}
    assert issues_of(workflow(deps)) == ["nodes[1].depends_on[1]: cycle: a -> b -> a"]


def test_nodes_behind_a_cycle_are_not_reported_as_cycles() -> None:
    deps = {"x": ["y"], "y": ["x"], "after": ["y"], "later": ["after"]}
    assert issues_of(workflow(deps)) == ["nodes[0].depends_on[0]: cycle: x -> y -> x"]


def test_disjoint_cycles_are_each_reported() -> None:
    deps = {"a": ["b"], "b": ["a"], "ok": [], "c": ["ok", "e"], "d": ["c"], "e": ["d"]}
    issues = issues_of(workflow(deps))
    assert issues == [
        "nodes[0].depends_on[0]: cycle: a -> b -> a",
        "nodes[3].depends_on[1]: cycle: c -> d -> e -> c",
    ]


def test_self_loops_are_reported_once_not_as_cycles() -> None:
    assert issues_of(workflow({"a": ["a"]})) == [
        "nodes[0].depends_on[0]: a node cannot depend on itself"
    ]


def test_largest_chain_is_valid_in_linear_work() -> None:
    deps = {f"n{i}": ([f"n{i - 1}"] if i else []) for i in range(MAX_NODES)}
    raw = workflow(deps)
    definition, validation = lines_run(lambda: parse_definition(raw))
    assert len(definition.nodes) == MAX_NODES
    assert validation <= LINES_PER_NODE_AND_EDGE * size_of(deps)
    plan, planning = lines_run(lambda: build_plan(definition))
    assert len(plan.edges) == MAX_NODES - 1
    assert planning <= LINES_PER_NODE_AND_EDGE * size_of(deps)


def test_largest_cycle_is_found_in_linear_work_without_recursion() -> None:
    deps = {f"n{i}": [f"n{(i - 1) % MAX_NODES}"] for i in range(MAX_NODES)}
    raw = workflow(deps)
    [issue], validation = lines_run(lambda: issues_of(raw))
    assert validation <= LINES_PER_NODE_AND_EDGE * size_of(deps)
    names = assert_real_cycle(issue, deps)
    assert len(names) == MAX_NODES + 1


def test_dense_graph_takes_linear_work() -> None:
    # 200 nodes each depending on up to 40 earlier ones: 7,000+ edges.
    deps = {f"n{i}": [f"n{j}" for j in range(max(0, i - 40), i)] for i in range(200)}
    raw = workflow(deps)
    definition, validation = lines_run(lambda: parse_definition(raw))
    assert validation <= LINES_PER_NODE_AND_EDGE * size_of(deps)
    _, planning = lines_run(lambda: build_plan(definition))
    assert planning <= LINES_PER_NODE_AND_EDGE * size_of(deps)


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """Random DAGs: nodes 1..60, edges only from a lower to a higher index."""
    count = draw(st.integers(min_value=1, max_value=60))
    deps: dict[str, list[str]] = {}
    for i in range(count):
        ups = (
            draw(st.lists(st.integers(min_value=0, max_value=i - 1), unique=True, max_size=5))
            if i
            else []
        )
        deps[f"n{i}"] = [f"n{j}" for j in ups]
    order = draw(st.permutations(list(deps)))  # nodes need not be listed in topological order
    return {node: deps[node] for node in order}


@settings(deadline=None, max_examples=150)
@given(dags())
def test_random_dags_validate(deps: dict[str, list[str]]) -> None:
    assert len(parse_definition(workflow(deps)).nodes) == len(deps)


@settings(deadline=None, max_examples=150)
@given(dags(), st.data())
def test_an_edge_closing_a_cycle_is_caught(deps: dict[str, list[str]], data: st.DataObject) -> None:
    edges = [(up, node) for node, ups in deps.items() for up in ups]
    assume(edges)
    # Walk downstream from some edge's source, then add an edge back to the start.
    start, current = data.draw(st.sampled_from(edges))
    downstream = {n: [m for m, ups in deps.items() if n in ups] for n in deps}
    while downstream[current]:
        if not data.draw(st.booleans()):
            break
        current = data.draw(st.sampled_from(downstream[current]))
    deps[start] = [*deps[start], current]  # start now depends on a node downstream of it
    issues = issues_of(workflow(deps))
    assert issues, "a cycle must be reported"
    for issue in issues:
        names = assert_real_cycle(issue, deps)
        assert start in names and current in names
