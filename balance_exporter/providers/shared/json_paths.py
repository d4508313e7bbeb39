"""JMESPath over provider answers decoded with exact numbers, checked before it is used.

The expressions of an ``http_json`` account are compiled once when the config loads; a call of
a function JMESPath does not have, or with the wrong number of arguments, is refused then too
(jmespath itself finds those only when the call is evaluated). Decimal counts as a number.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_errors
from jmespath import functions as jmespath_functions

from balance_exporter.polling.transport import one_line


class _DecimalFunctions(jmespath_functions.Functions):  # type: ignore[misc]  # untyped library
    """JMESPath's functions with Decimal as a number: bodies are decoded with exact numbers,
    and sum(), max(), to_number()... must neither refuse them nor turn them into floats."""

    def _get_allowed_pytypes(self, types: Any) -> Any:
        allowed, subtypes = super()._get_allowed_pytypes(types)
        allowed = [*allowed, "Decimal"] if "float" in allowed else allowed
        subtypes = [(*group, "Decimal") if "float" in group else group for group in subtypes]
        return allowed, subtypes

    def _convert_to_jmespath_type(self, pyobject: Any) -> Any:
        return "number" if pyobject == "Decimal" else super()._convert_to_jmespath_type(pyobject)

    @jmespath_functions.signature({"types": []})  # type: ignore[untyped-decorator]
    def _func_type(self, arg: Any) -> Any:
        return "number" if isinstance(arg, Decimal) else super()._func_type(arg)

    @jmespath_functions.signature({"types": []})  # type: ignore[untyped-decorator]
    def _func_to_number(self, arg: Any) -> Any:
        if isinstance(arg, Decimal):
            return arg
        if isinstance(arg, str):
            try:
                number = Decimal(arg.strip())
            except ArithmeticError:
                return None
            return number if number.is_finite() else None
        return super()._func_to_number(arg)


FUNCTIONS = _DecimalFunctions()
OPTIONS = jmespath.Options(custom_functions=FUNCTIONS)


@lru_cache(maxsize=1024)
def compiled(expression: str) -> Any:
    """The parsed expression; raises jmespath's own error for one that is not JMESPath, and
    for a call of a function it does not have or with the wrong number of arguments (which
    jmespath itself only finds when the call is evaluated)."""
    parsed = jmespath.compile(expression)
    _check_calls(parsed.parsed)
    return parsed


def _check_calls(node: Any) -> None:
    if not isinstance(node, dict):
        return
    if node.get("type") == "function_expression":
        name, arguments = node["value"], len(node["children"])
        spec = FUNCTIONS.FUNCTION_TABLE.get(name)
        if spec is None:
            raise jmespath_errors.UnknownFunctionError(f"unknown function {name}()")
        signature = spec["signature"]
        if signature and signature[-1].get("variadic"):
            if arguments < len(signature):
                raise jmespath_errors.VariadictArityError(len(signature), arguments, name)
        elif arguments != len(signature):
            raise jmespath_errors.ArityError(len(signature), arguments, name)
    for child in node.get("children", ()):
        _check_calls(child)


def path_problem(expression: str) -> str | None:
    """Why ``expression`` is not a JMESPath expression, in one short line; None if it is."""
    try:
        compiled(expression)
    except jmespath_errors.EmptyExpressionError:
        return "is empty"
    except jmespath_errors.IncompleteExpressionError:
        return "not a JMESPath expression: incomplete expression"
    except jmespath_errors.LexerError as exc:
        return f"not a JMESPath expression: {exc.message} at column {exc.lexer_position}"
    except jmespath_errors.ArityError as exc:
        return f"not a JMESPath expression: {exc}"
    except jmespath_errors.ParseError as exc:
        return f"not a JMESPath expression: {exc.msg} at column {exc.lex_position}"
    except jmespath_errors.JMESPathError as exc:
        return f"not a JMESPath expression: {one_line(str(exc), 80)}"
    return None
