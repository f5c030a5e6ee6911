"""The registry: built-ins, @action, lookup errors and loading user modules."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowsync.actions import (
    BUILTIN_ACTIONS,
    Registry,
    StepContext,
    action,
    default_registry,
    load_actions_module,
)
from flowsync.actions import registry as registry_module
from flowsync.actions.http import http_request
from flowsync.actions.registry import INTERNAL_ACTIONS
from flowsync.definition import BUILTIN_NODE_TYPES
from tests.unit.actions.conftest import run_step


@pytest.fixture(autouse=True)
def _isolated_custom_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_CUSTOM_ACTIONS", {})


def test_default_registry_has_every_builtin() -> None:
    registry = default_registry()
    assert set(BUILTIN_ACTIONS) == BUILTIN_NODE_TYPES
    assert set(registry.names()) == BUILTIN_NODE_TYPES | set(INTERNAL_ACTIONS)
    assert registry.get("http") is http_request


def test_decorated_actions_join_the_default_registry() -> None:
    @action("billing.charge")
    async def charge(ctx: StepContext) -> Any:
        return {"charged": ctx.input["amount"]}

    registry = default_registry()
    assert "billing.charge" in registry
    assert run_step(registry.get("billing.charge"), "billing.charge", {}, input={"amount": 5}) == {
        "charged": 5
    }


@pytest.mark.parametrize("name", ["charge", "http", "Billing.charge", "billing.", "billing-x.y"])
def test_names_must_be_dotted(name: str) -> None:
    with pytest.raises(ValueError, match=r'like "billing\.charge"'):
        action(name)


def test_actions_must_be_async() -> None:
    def sync(ctx: StepContext) -> None:
        pass

    with pytest.raises(TypeError, match="async def"):
        action("billing.sync")(sync)  # type: ignore[type-var]


def test_one_name_cannot_name_two_functions() -> None:
    @action("billing.refund")
    async def refund(ctx: StepContext) -> None:
        pass

    async def other(ctx: StepContext) -> None:
        pass

    with pytest.raises(ValueError, match="registered twice"):
        action("billing.refund")(other)


def test_unknown_type_names_it_and_the_registered_ones() -> None:
    registry = Registry({"echo": BUILTIN_ACTIONS["echo"], "noop": BUILTIN_ACTIONS["noop"]})
    with pytest.raises(LookupError) as caught:
        registry.get("billing.charge")
    assert str(caught.value).startswith("no action registered for node type 'billing.charge'")
    assert str(caught.value).endswith("registered: echo, noop")


def test_register_checks_names() -> None:
    registry = Registry()
    with pytest.raises(ValueError, match="invalid action name"):
        registry.register("nope", BUILTIN_ACTIONS["noop"])
    registry.register("shop.noop", BUILTIN_ACTIONS["noop"])
    assert registry.names() == ["shop.noop"]
    assert run_step(registry.get("shop.noop"), "shop.noop", {}) is None  # an alias works


def test_load_a_module_from_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "my-actions.py"
    path.write_text(
        textwrap.dedent(
            """
            from flowsync.actions import StepContext, action

            @action("shop.greet")
            async def greet(ctx: StepContext) -> str:
                return "hello " + ctx.render("{{ input.name }}")
            """
        )
    )
    module = load_actions_module(str(path))
    assert module.greet.__name__ == "greet"
    load_actions_module(str(path))  # loading again re-registers the same function: fine
    greet = default_registry().get("shop.greet")
    assert run_step(greet, "shop.greet", {}, input={"name": "Ada"}) == "hello Ada"


def test_load_a_module_by_dotted_name() -> None:
    module = load_actions_module("flowsync.actions.noop")
    assert module.__name__ == "flowsync.actions.noop"


def test_loading_something_missing_says_what() -> None:
    with pytest.raises(ImportError, match="does not exist"):
        load_actions_module("/nonexistent/actions.py")
    with pytest.raises(ImportError, match="cannot import actions module 'no_such_mod_xyz'"):
        load_actions_module("no_such_mod_xyz")
