"""A picture of a workflow: Mermaid flowchart text of a definition."""

from __future__ import annotations

import re

from flowsync.definition.model import WorkflowDefinition

__all__ = ["to_mermaid"]

# (open, close) of the Mermaid shape for each built-in type; custom actions are subroutines.
_SHAPES: dict[str, tuple[str, str]] = {
    "http": ("[", "]"),
    "webhook": ("[/", "/]"),
    "email": (">", "]"),
    "delay": ("([", "])"),
    "condition": ("{", "}"),
    "transform": ("[/", "\\]"),
    "noop": ("((", "))"),
    "echo": ("(", ")"),
}
_CUSTOM_SHAPE = ("[[", "]]")
# Anything outside this set is written as a Mermaid entity code (#34; for a quote, ...).
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:/@+=-]")


def to_mermaid(definition: WorkflowDefinition) -> str:
    """`flowchart TD` text: one shape per node labelled "id<br/>type", one arrow per dependency.

    Mermaid node names are generated (n0, n1, ...) so that no node id can collide with
    Mermaid syntax (`end`, `o`/`x` edge prefixes); the real id is the label.
    """
    names = {node.id: f"n{i}" for i, node in reversed(list(enumerate(definition.nodes)))}
    lines = ["flowchart TD"]
    for i, node in enumerate(definition.nodes):
        opening, closing = _SHAPES.get(node.type, _CUSTOM_SHAPE)
        label = f"{_escape(node.id)}<br/>{_escape(node.type)}"
        lines.append(f'    n{i}{opening}"{label}"{closing}')
    for i, node in enumerate(definition.nodes):
        for dep in node.dependencies:
            upstream = names.get(dep.node)
            if upstream is None:
                continue
            if dep.when is None:
                lines.append(f"    {upstream} --> n{i}")
            elif isinstance(dep.when, bool):
                lines.append(f"    {upstream} -->|{'true' if dep.when else 'false'}| n{i}")
            else:
                lines.append(f'    {upstream} -->|"{_escape(dep.when)}"| n{i}')
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    """Make text safe inside a quoted Mermaid label."""
    return _UNSAFE.sub(lambda match: f"#{ord(match.group())};", text)
