"""Which action runs each node type: the built-ins plus custom actions registered by name.

A worker names a user module (`flowsync worker --actions myapp.actions` or a .py path);
importing it runs its `@action("billing.charge")` decorators, and `default_registry()` then
holds the built-ins and every custom action registered so far.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from flowsync.actions.base import Action
from flowsync.actions.condition import condition
from flowsync.actions.delay import delay
from flowsync.actions.echo import echo
from flowsync.actions.email import send_email
from flowsync.actions.http import http_request
from flowsync.actions.noop import noop
from flowsync.actions.output import output_mapping
from flowsync.actions.pgmq_send import pgmq_send
from flowsync.actions.transform import transform
from flowsync.actions.webhook import send_webhook
from flowsync.definition.configs import BUILTIN_NODE_TYPES, is_custom_type
from flowsync.definition.plan import OUTPUT_NODE_TYPE

__all__ = [
    "BUILTIN_ACTIONS",
    "Registry",
    "action",
    "default_registry",
    "load_actions_module",
]

_A = TypeVar("_A", bound=Action)

BUILTIN_ACTIONS: Mapping[str, Action] = {
    "http": http_request,
    "webhook": send_webhook,
    "email": send_email,
    "delay": delay,
    "condition": condition,
    "transform": transform,
    "noop": noop,
    "echo": echo,
    "pgmq_send": pgmq_send,
}
assert set(BUILTIN_ACTIONS) == BUILTIN_NODE_TYPES, "every built-in node type needs an action"

# Node types the engine adds to plans itself (never written in a definition).
INTERNAL_ACTIONS: Mapping[str, Action] = {OUTPUT_NODE_TYPE: output_mapping}


def _check(name: str, fn: Action, *, builtin_ok: bool) -> None:
    if not (is_custom_type(name) or (builtin_ok and name in BUILTIN_NODE_TYPES)):
        raise ValueError(
            f"invalid action name {name!r}: custom actions need a dotted lowercase name "
            'like "billing.charge" (letters, digits and "_" in each part)'
        )
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(
            f"action {name!r} must be an `async def` function taking a StepContext, got {fn!r}"
        )


def _same_function(a: Action, b: Action) -> bool:
    """True for one function defined twice, as when a module is imported again."""
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    )


class Registry:
    """Node type -> action."""

    def __init__(self, actions: Mapping[str, Action] | None = None) -> None:
        self._actions: dict[str, Action] = {}
        for name, fn in (actions or {}).items():
            self.register(name, fn)

    def register(self, name: str, fn: Action) -> None:
        """Add an action; a built-in or dotted custom name, each name once."""
        _check(name, fn, builtin_ok=True)
        existing = self._actions.get(name)
        if existing is not None and existing is not fn and not _same_function(existing, fn):
            raise ValueError(
                f"action {name!r} is already registered "
                f"({existing.__module__}.{existing.__qualname__})"
            )
        self._actions[name] = fn

    def register_internal(self, name: str, fn: Action) -> None:
        """Add an action for a node type the engine itself puts into plans."""
        self._actions[name] = fn

    def get(self, node_type: str) -> Action:
        """The action for a node type; LookupError naming what is registered otherwise."""
        try:
            return self._actions[node_type]
        except KeyError:
            known = ", ".join(sorted(self._actions)) or "none"
            hint = ""
            if is_custom_type(node_type):
                hint = " (is the module that registers it loaded with the worker's actions option?)"
            raise LookupError(
                f"no action registered for node type {node_type!r}{hint}; registered: {known}"
            ) from None

    def names(self) -> list[str]:
        """The registered node types, sorted."""
        return sorted(self._actions)

    def __contains__(self, node_type: object) -> bool:
        return node_type in self._actions

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._actions)


# Filled by @action as user modules are imported; default_registry() copies it.
_CUSTOM_ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[_A], _A]:
    """Register an `async def f(ctx: StepContext) -> Any` as the custom node type `name`."""
    if not isinstance(name, str) or not is_custom_type(name):
        raise ValueError(
            f"invalid custom action name {name!r}: use a dotted lowercase name like "
            '"billing.charge" (letters, digits and "_" in each part, no built-in names)'
        )

    def register(fn: _A) -> _A:
        _check(name, fn, builtin_ok=False)
        existing = _CUSTOM_ACTIONS.get(name)
        if existing is not None and not _same_function(existing, fn):
            raise ValueError(
                f"custom action {name!r} is registered twice: "
                f"{existing.__module__}.{existing.__qualname__} and "
                f"{fn.__module__}.{fn.__qualname__}"
            )
        _CUSTOM_ACTIONS[name] = fn
        return fn

    return register


def default_registry() -> Registry:
    """The built-ins plus the custom actions registered so far (load modules first)."""
    registry = Registry({**BUILTIN_ACTIONS, **_CUSTOM_ACTIONS})
    for name, fn in INTERNAL_ACTIONS.items():
        registry.register_internal(name, fn)
    return registry


def load_actions_module(target: str) -> ModuleType:
    """Import a module of custom actions: a dotted name (`myapp.actions`) or a .py file."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        return _load_file(Path(target))
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ImportError(f"cannot import actions module {target!r}: {exc}") from exc


def _load_file(path: Path) -> ModuleType:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ImportError(f"actions file {str(path)!r} does not exist")
    # One name per file, so loading the same file twice re-registers the same functions.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"flowsync_user_actions_{path.stem.replace('-', '_')}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load actions file {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
