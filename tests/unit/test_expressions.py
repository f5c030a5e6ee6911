"""The expression layer: CEL compile/evaluate and "{{ expr }}" templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsync.expressions import (
    MAX_EXPRESSION_LENGTH,
    ExpressionError,
    compile_expression,
    compile_template,
    evaluate,
    render,
)

VARS: dict[str, Any] = {
    "input": {"order_id": 42, "name": "Ada", "tags": ["a", "b"], "nothing": None},
    "steps": {"fetch": {"output": {"body": {"total": 1500, "id": "o-1"}, "status": 200}}},
    "execution": {"id": "e-1"},
    "env": {"REGION": "eu"},
}


# -- expressions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("steps.fetch.output.body.total > 1000", True),
        ("input.order_id + 1", 43),
        ("input.name + '!'", "Ada!"),
        ("size(input.tags)", 2),
        ("input.tags.map(t, t + t)", ["aa", "bb"]),
        ("input.tags.exists(t, t == 'b')", True),
        ("has(input.missing)", False),
        ("input.nothing == null", True),
        ("env.REGION == 'eu' ? 'europe' : 'elsewhere'", "europe"),
        ("execution.id", "e-1"),
        ("'a-b'.split('-')", ["a", "b"]),
        ("math.greatest(1, 5, 3)", 5),
        ("{'k': [1, 2.5, true, null]}", {"k": [1, 2.5, True, None]}),
    ],
)
def test_evaluate(source: str, expected: Any) -> None:
    assert evaluate(source, VARS) == expected
    assert evaluate(compile_expression(source), VARS) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("1 +", "syntax error at column 4"),
        ("a ==", "syntax error at column 5"),
        ("foo(", "syntax error"),
        ("'unterminated", "syntax error at column 1"),
        ("input.x\n  + ", "line 2"),
        ("   ", "empty"),
        ("", "empty"),
        ("input.x +* 2", "syntax error"),
    ],
)
def test_syntax_errors(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    assert fragment in info.value.message
    assert "expecting {" not in info.value.message  # the parser's token list is noise


def test_too_long_expressions_are_refused_before_the_parser_sees_them() -> None:
    # The CEL parser recurses; a huge expression crashes the process instead of raising.
    source = "+".join(["1"] * MAX_EXPRESSION_LENGTH)
    with pytest.raises(ExpressionError, match="too long"):
        compile_expression(source)
    assert evaluate("+".join(["1"] * 1000), {}) == 1000


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    depth = MAX_EXPRESSION_LENGTH // 2 - 1
    with pytest.raises(ExpressionError):
        compile_expression("(" * depth + "1" + ")" * depth)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("input.missing.x", "no such key 'missing'"),
        ("nope + 1", "Undefined variable or function: 'nope'"),
        ("1 / 0", "division by zero"),
        ("input.name + 1", "string + int"),
        ("__import__('os')", "__import__"),
    ],
)
def test_evaluation_errors(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(source, VARS)
    assert fragment in info.value.message
    assert source in info.value.message


def test_non_string_sources_are_rejected() -> None:
    with pytest.raises(ExpressionError, match="must be a string"):
        compile_expression(12)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="must be a string"):
        compile_template(["x"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "variables"),
    [
        ("steps.fetch.output + input.x", {"steps", "input"}),
        ("[1, 2].map(x, x * 2)", set()),
        ("input.tags.all(tag, tag != '')", {"input"}),
        ("type(input) == map && type(1) == int", {"input"}),
        ("math.greatest(1, 2) + size('ab')", set()),
        ("optional.of(1).hasValue()", set()),
        ("inptu.x", {"inptu"}),
    ],
)
def test_top_level_variables(source: str, variables: set[str]) -> None:
    assert compile_expression(source).variables == variables


def test_compiled_programs_are_cached() -> None:
    assert compile_expression("1 + 2") is compile_expression("1 + 2")
    assert compile_template("x {{ 1 }}") is compile_template("x {{ 1 }}")


def test_optional_results_are_unwrapped() -> None:
    assert evaluate("optional.of(3)", {}) == 3
    assert evaluate("optional.none()", {}) is None


# -- templates --------------------------------------------------------------------------------


def test_a_lone_placeholder_gives_the_raw_value() -> None:
    assert render("{{ input.order_id }}", VARS) == 42
    assert render("{{input.tags}}", VARS) == ["a", "b"]
    assert render("{{ steps.fetch.output.body }}", VARS) == {"total": 1500, "id": "o-1"}
    assert render("{{ input.nothing }}", VARS) is None
    assert compile_template("{{ input.order_id }}").is_single_expression


def test_text_around_placeholders_gives_a_string() -> None:
    assert render("id-{{ input.order_id }}", VARS) == "id-42"
    assert render(" {{ input.order_id }}", VARS) == " 42"
    assert render("{{ input.name }}/{{ input.order_id }}", VARS) == "Ada/42"
    assert not compile_template("{{ a }}{{ b }}").is_single_expression


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (None, ""),
        (3, "3"),
        (2.5, "2.5"),
        ("s", "s"),
        ([1, "a"], '[1,"a"]'),
        ({"k": None}, '{"k":null}'),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (timedelta(hours=1), "3600s"),
        (timedelta(milliseconds=1500), "1.5s"),
        (b"hi", "aGk="),
    ],
)
def test_values_inside_text(value: Any, text: str) -> None:
    assert render("<{{ input.v }}>", {"input": {"v": value}}) == f"<{text}>"


def test_text_without_placeholders_is_unchanged() -> None:
    assert render("plain } text }}", VARS) == "plain } text }}"
    assert compile_template("no placeholders").parts == ("no placeholders",)
    assert compile_template("").parts == ()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ {'a': {'b': 1}} }}", {"a": {"b": 1}}),
        ("{{ {'a': 1}}}", {"a": 1}),
        ("{{ 'a}}b' }}", "a}}b"),
        ('{{ "x}}" + "}}" }}', "x}}}}"),
        ("{{ 'it\\'s' }}", "it's"),
        ("{{ r'\\d}}' }}", "\\d}}"),
        ("{{ '''a}}'b''' }}", "a}}'b"),
        ("{{ [1, 2][1] }}!", "2!"),
        ('a {{ "{{" }} b', "a {{ b"),
    ],
)
def test_placeholder_ends_are_found_outside_strings_and_braces(
    template: str, expected: Any
) -> None:
    assert render(template, VARS) == expected


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ input.x", 'unclosed "{{" at character 1'),
        ("ab {{ 'x }}", 'unclosed "{{" at character 4'),
        ("{{ }}", "empty placeholder"),
        ("a {{ 1 + }} b", 'placeholder "{{ 1 + }}": syntax error at column 4'),
    ],
)
def test_template_errors(template: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_template(template)
    assert fragment in info.value.message


def test_values_cel_cannot_take_are_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        evaluate("input", {"input": object()})


def test_evaluation_errors_inside_templates() -> None:
    with pytest.raises(ExpressionError, match="no such key 'nope'"):
        render("x-{{ steps.nope.output }}", VARS)


def test_render_walks_json() -> None:
    value = {
        "id": "{{ input.order_id }}",
        "{{ keys stay literal }}": [
            "{{ input.name }}!",
            1,
            None,
            True,
            {"deep": "{{ env.REGION }}"},
        ],
        "tuple": ("{{ 1 + 1 }}",),
    }
    assert render(value, VARS) == {
        "id": 42,
        "{{ keys stay literal }}": ["Ada!", 1, None, True, {"deep": "eu"}],
        "tuple": [2],
    }
    assert render(compile_template("{{ 1 + 1 }}"), {}) == 2
    assert render(7, {}) == 7


def test_template_variables() -> None:
    template = compile_template("{{ input.a }}-{{ steps.x.output }}-{{ [1].map(y, y) }}")
    assert template.variables == {"input", "steps"}
    assert len(template.expressions) == 3


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="{"), max_size=40)


@settings(deadline=None)
@given(_TEXT)
def test_text_without_braces_renders_to_itself(text: str) -> None:
    assert render(text, {}) == text


@settings(deadline=None)
@given(
    st.integers(min_value=-(2**62), max_value=2**62) | st.text(max_size=20) | st.booleans(),
    _TEXT,
)
def test_lone_placeholder_is_raw_and_text_is_a_string(value: Any, prefix: str) -> None:
    variables = {"input": {"x": value}}
    assert render("{{ input.x }}", variables) == value
    rendered = render(prefix + "-{{ input.x }}", variables)
    assert isinstance(rendered, str)
    assert rendered.startswith(prefix + "-")


@settings(deadline=None, max_examples=300)
@given(st.text(alphabet="{}'\"()[]\\ab1+ .r", max_size=30))
def test_any_text_either_compiles_or_raises_expression_error(text: str) -> None:
    try:
        compile_template(text)
    except ExpressionError as exc:
        assert exc.message
