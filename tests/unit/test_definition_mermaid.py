"""Mermaid text of a definition: shapes, labels, arrows, and escaping."""

from __future__ import annotations

import re

from flowsync.definition import parse_definition, to_mermaid
from tests.unit.test_definition_parse import EXAMPLE


def test_design_example() -> None:
    definition = parse_definition(
        {
            "name": "order-paid",
            "nodes": [
                {"id": "fetch", "type": "http", "config": {"url": "https://x/{{ input.id }}"}},
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
                    "config": {"url": "https://review"},
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
                    "config": {"url": "https://ship"},
                },
            ],
        }
    )
    assert to_mermaid(definition) == (
        "flowchart TD\n"
        '    n0["fetch<br/>http"]\n'
        '    n1{"big<br/>condition"}\n'
        '    n2["review<br/>http"]\n'
        '    n3(["wait<br/>delay"])\n'
        '    n4[/"ship<br/>webhook"/]\n'
        "    n0 --> n1\n"
        "    n1 -->|true| n2\n"
        "    n1 -->|false| n3\n"
        "    n2 --> n4\n"
        "    n3 --> n4\n"
    )


def test_every_node_and_edge_is_drawn() -> None:
    definition = parse_definition(EXAMPLE)
    text = to_mermaid(definition)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    node_lines = [line for line in lines[1:] if "-->" not in line]
    edge_lines = [line for line in lines[1:] if "-->" in line]
    assert len(node_lines) == len(definition.nodes)
    assert len(edge_lines) == sum(len(node.depends_on) for node in definition.nodes)
    assert '[["charge<br/>billing.charge"]]' in text  # custom actions are subroutines
    assert '-->|"big"|' in text  # string outcomes are quoted


def test_labels_are_escaped() -> None:
    definition = parse_definition(
        {
            "name": "x",
            "nodes": [
                {"id": "end", "type": "condition", "config": {"expr": "'a'"}},
                {
                    "id": "o-x",
                    "type": "noop",
                    "depends_on": [{"node": "end", "when": 'say "hi" | <b>;#'}],
                },
            ],
        }
    )
    text = to_mermaid(definition)
    assert '-->|"say #34;hi#34; #124; #60;b#62;#59;#35;"| n1' in text
    # every label is one quoted string with no raw quote or pipe inside
    for label in re.findall(r'"([^"]*)"', text):
        assert "|" not in label
    # Mermaid keywords such as "end" never appear as node names
    assert '    n0{"end<br/>condition"}' in text
