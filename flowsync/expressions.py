"""CEL expressions and "{{ expr }}" templates: compile once, evaluate safely (never eval).

Expressions are CEL (https://cel.dev) with the cel package's extended library (split, join,
math.greatest, ...). They read four variables: `input`, `steps` (`steps.<id>.output`),
`execution` and `env`. A template is text with "{{ expr }}" placeholders: a string that is
exactly one placeholder renders to the raw value, anything else to a string. A literal "{{" is
written as {{ "{{" }}.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cel
import msgspec
from cel.stdlib import STDLIB_FUNCTIONS

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "VARIABLES",
    "CompiledExpression",
    "CompiledTemplate",
    "ExpressionError",
    "compile_expression",
    "compile_template",
    "evaluate",
    "render",
]

#: The variables an expression can read; the engine fills them in at run time.
VARIABLES = frozenset({"input", "steps", "execution", "env"})

#: Longer sources are refused: the CEL parser recurses, and very deep input crashes it.
MAX_EXPRESSION_LENGTH = 4096

# Names CEL reports as "variables" that are really type names or function namespaces.
_NON_VARIABLES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
    | {"dyn", "optional"}
    | {name.split(".", 1)[0] for name in STDLIB_FUNCTIONS if "." in name}
)
# Comprehension macros bind a name (`list.map(x, x * 2)`); CEL reports it as a variable.
_BOUND_NAME = re.compile(
    r"\.\s*(?:all|exists|exists_one|filter|map)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)
_PARSE_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)")


class ExpressionError(ValueError):
    """An expression or template that does not compile or evaluate; the message is for users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    """A parsed CEL program plus the top-level variables it reads."""

    source: str
    program: cel.Program
    variables: frozenset[str]

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Run the program; any failure becomes an ExpressionError naming the expression."""
        try:
            context = cel.Context(variables=dict(variables), functions=STDLIB_FUNCTIONS)
            result = self.program.execute(context)
        except Exception as exc:
            raise ExpressionError(f'cannot evaluate "{self.source}": {_describe(exc)}') from exc
        except BaseException as exc:  # pyo3 panics derive from BaseException
            if type(exc).__name__ != "PanicException":
                raise
            raise ExpressionError(f'cannot evaluate "{self.source}": {exc}') from None
        if isinstance(result, cel.OptionalValue):
            return result.value() if result.has_value() else None
        return result


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """Literal text and expressions from a "{{ expr }}" template, in order."""

    source: str
    parts: tuple[str | CompiledExpression, ...]

    @property
    def is_single_expression(self) -> bool:
        """True when the whole string is one placeholder: it renders to the raw value."""
        return len(self.parts) == 1 and isinstance(self.parts[0], CompiledExpression)

    @property
    def expressions(self) -> tuple[CompiledExpression, ...]:
        """The compiled placeholders."""
        return tuple(part for part in self.parts if isinstance(part, CompiledExpression))

    @property
    def variables(self) -> frozenset[str]:
        """The top-level variables any placeholder reads."""
        return frozenset().union(*(expr.variables for expr in self.expressions))

    def render(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate the placeholders: the raw value for a lone placeholder, else a string."""
        if self.is_single_expression:
            return self.expressions[0].evaluate(variables)
        return "".join(
            part if isinstance(part, str) else _to_text(part.evaluate(variables))
            for part in self.parts
        )


def compile_expression(source: str) -> CompiledExpression:
    """Compile a CEL expression (cached); raise ExpressionError when it does not parse."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, not {type(source).__name__}")
    return _compile_expression(source)


def compile_template(text: str) -> CompiledTemplate:
    """Parse "{{ expr }}" placeholders in text (cached); raise ExpressionError on bad ones."""
    if not isinstance(text, str):
        raise ExpressionError(f"a template must be a string, not {type(text).__name__}")
    return _compile_template(text)


@functools.lru_cache(maxsize=4096)
def _compile_expression(source: str) -> CompiledExpression:
    if not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"the expression is too long ({len(source)} characters, "
            f"at most {MAX_EXPRESSION_LENGTH})"
        )
    try:
        program = cel.compile(source)
    except Exception as exc:
        raise ExpressionError(_describe_parse_error(str(exc))) from None
    except BaseException as exc:  # pyo3 panics derive from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        raise ExpressionError("the expression could not be parsed") from None
    bound = set(_BOUND_NAME.findall(source))
    roots = frozenset(program.variables()) - _NON_VARIABLES - bound
    return CompiledExpression(source=source, program=program, variables=roots)


@functools.lru_cache(maxsize=4096)
def _compile_template(text: str) -> CompiledTemplate:
    parts: list[str | CompiledExpression] = []
    literal_start = 0
    while (start := text.find("{{", literal_start)) >= 0:
        end = _find_placeholder_end(text, start + 2)
        if end < 0:
            raise ExpressionError(f'unclosed "{{{{" at character {start + 1}')
        if start > literal_start:
            parts.append(text[literal_start:start])
        inner = text[start + 2 : end].strip()
        if not inner:
            raise ExpressionError(f'empty placeholder "{text[start : end + 2]}"')
        try:
            parts.append(_compile_expression(inner))
        except ExpressionError as exc:
            raise ExpressionError(f'placeholder "{{{{ {inner} }}}}": {exc.message}') from None
        literal_start = end + 2
    if literal_start < len(text):
        parts.append(text[literal_start:])
    return CompiledTemplate(source=text, parts=tuple(parts))


def evaluate(expr: str | CompiledExpression, variables: Mapping[str, Any]) -> Any:
    """Evaluate a CEL expression (source or compiled) against variables."""
    compiled = expr if isinstance(expr, CompiledExpression) else compile_expression(expr)
    return compiled.evaluate(variables)


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render a template, or every string inside a JSON value (object keys stay literal)."""
    if isinstance(value, CompiledTemplate):
        return value.render(variables)
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return compile_template(value).render(variables)
    if isinstance(value, Mapping):
        return {key: render(item, variables) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, variables) for item in value]
    return value


def _find_placeholder_end(text: str, pos: int) -> int:
    """Index of the "}}" closing a placeholder opened before pos, skipping CEL strings."""
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char in "'\"":
            pos = _skip_string(text, pos)
            continue
        if char == "}" and depth == 0 and text.startswith("}}", pos):
            return pos
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        pos += 1
    return -1


def _skip_string(text: str, pos: int) -> int:
    """Index just past the CEL string literal starting at pos (or len(text) if unterminated)."""
    quote = text[pos] * 3 if text.startswith(text[pos] * 3, pos) else text[pos]
    raw = pos > 0 and text[pos - 1] in "rR"
    pos += len(quote)
    while pos < len(text):
        if text[pos] == "\\" and not raw:
            pos += 2
        elif text.startswith(quote, pos):
            return pos + len(quote)
        else:
            pos += 1
    return len(text)


def _describe_parse_error(detail: str) -> str:
    match = _PARSE_ERROR.search(detail)
    if match is None:
        return f"syntax error: {detail.splitlines()[0] if detail else 'unknown'}"
    line, column, message = match.groups()
    message = message.split(" expecting {", 1)[0]
    where = f"column {column}" if line == "1" else f"line {line}, column {column}"
    return f"syntax error at {where}: {message}"


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such key {exc.args[0]!r}" if exc.args else "no such key"
    text = str(exc).split(". Check that", 1)[0]
    return text or type(exc).__name__


def _to_text(value: Any) -> str:
    """How a value reads inside a string template (like GitHub Actions expressions)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return f"{int(seconds)}s" if seconds.is_integer() else f"{seconds}s"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return msgspec.json.encode(value, enc_hook=str).decode()
