"""Schema errors in the project's own words.

pydantic reports a failed field with a type (``int_parsing``, ``extra_forbidden``, ...)
and an English message written for Python programmers ("Input should be a valid
integer, unable to parse string as an integer"). A scenario's author writes YAML, not
Python, so every error type the schema can produce is said again here, with the value
that was given (cut to a readable length) and, for an unknown key, the keys that are
allowed. A type not in the table still gets a plain sentence, never pydantic's.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from ..errors import show

#: Fields whose pattern is better said in words than as a regular expression.
_PATTERNS = {
    "name": "letters, digits, '.', '_' or '-', starting with a letter or digit",
    "variant name": "letters, digits, spaces, '.', '_', '-', '=', ':', ',' or '+', "
                    "starting with a letter or digit",
    "az": "an Availability Zone name such as us-east-1a (lower-case letters, digits, '-')",
    "route": "local, igw or nat:<gateway name>",
    "port": "a port N, a range N-M, or all",
    "operating_system_family": "LINUX or WINDOWS_SERVER_<release>_<FULL|CORE>, e.g. "
                               "WINDOWS_SERVER_2022_CORE",
}

#: What a container type is called in a message.
_KINDS = {"list_type": "a list", "dict_type": "a mapping (key: value)",
          "model_type": "a mapping of fields (key: value)", "set_type": "a list"}


def got(value: Any) -> str:
    """What was given, as the user wrote it: ``'abc'``, ``42``, ``a list``, ``nothing``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return f"a mapping of {_items(len(value))}" if value else "an empty mapping {}"
    if isinstance(value, list | tuple):
        return f"a list of {_items(len(value))}" if value else "an empty list []"
    if isinstance(value, set | frozenset):
        return "a set"
    if isinstance(value, bytes):
        return "binary data (!!binary)"
    if isinstance(value, datetime.date | datetime.time):
        return f"{show(str(value))}, which YAML reads as a {type(value).__name__}; quote it"
    if isinstance(value, float) and value != value:
        return "NaN (not a number)"
    if isinstance(value, str | int | float):
        return show(value)
    return f"a {type(value).__name__}"


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class found by following ``loc`` through the schema, if any."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            f = fields.get(part) or next(
                (f for f in fields.values() if f.alias == part), None)
            if f is None:
                return None
            current = f.annotation
        else:
            return None
        # unwrap Optional[...] / list[...] wrappers until a model or a list
        while get_origin(current) is not None and get_origin(current) is not list:
            inner = [a for a in get_args(current) if a is not type(None)]
            current = inner[0] if inner else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as a scenario spells them (``from``, not ``from_``)."""
    return [f.alias or name for name, f in model.model_fields.items()]


#: Keys written where they do not belong, and where they go (a hint over a spelling).
_MISPLACED = {"variants": "compare"}


def did_you_mean(key: str, known: list[str]) -> str:
    """``" (did you mean 'desired_count'?)"`` for a key close to one that is allowed, or
    the section a key belongs under (``variants`` goes under ``compare:``); else ``""``.

    >>> did_you_mean("desired_cout", ["name", "desired_count"])
    " (did you mean 'desired_count'?)"
    >>> did_you_mean("variants", ["compare", "sweep"])
    ' (variants belongs under compare: compare: {variants: [{name: ..., set: ...}]})'
    """
    import difflib  # noqa: PLC0415 (only for an error)

    home = _MISPLACED.get(key)
    if home in known and key not in known:
        return f" ({key} belongs under {home}: {home}: {{{key}: [{{name: ..., set: ...}}]}})"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7) or [
        k for k in known if k.lower() == key.lower().replace("-", "_")]
    return f" (did you mean {show(close[0])}?)" if close else ""


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n:,} items"


def describe(err: dict, loc: tuple, model: type[BaseModel]) -> str:
    """One pydantic error (``ValidationError.errors()`` item) at ``loc`` of ``model``."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    value = err.get("input")
    given = f" (got {got(value)})"
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        known = field_names(parent) if parent else []
        expected = f"; expected one of: {', '.join(known)}" if known else ""
        return f"unknown key {show(str(loc[-1]))}{did_you_mean(str(loc[-1]), known)}{expected}"
    if kind == "missing":
        return "required field is missing"
    if kind in ("value_error", "assertion_error"):
        return _own(err.get("msg", ""))
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return f"expected a whole number, got {got(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {got(value)}"
    if kind == "finite_number":
        return f"expected a finite number, got {got(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {got(value)}"
    if kind in ("string_type", "string_sub_type", "string_unicode"):
        return f"expected text, got {got(value)}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long{given}"
    if kind == "string_pattern_mismatch":
        field = str(loc[-1]) if loc else ""
        words = _PATTERNS.get("variant name" if field == "name" and "variants" in loc
                              else field)
        if words is None:
            words = f"text matching {ctx.get('pattern', 'the pattern')}"
        return f"expected {words}{given}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "one of the allowed values"))
        return f"expected {expected}{given}"
    if kind in _KINDS:
        return f"expected {_KINDS[kind]}, got {got(value)}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must have at least {_items(n)}{given}"
    if kind == "too_long":
        return f"must have at most {_items(ctx.get('max_length', 0))}{given}"
    bounds = {"greater_than_equal": ("ge", "must be at least"),
              "greater_than": ("gt", "must be above"),
              "less_than_equal": ("le", "must be at most"),
              "less_than": ("lt", "must be below")}
    if kind in bounds:
        key, words = bounds[kind]
        return f"{words} {ctx.get(key)}{given}"
    if kind == "recursion_loop":
        return "refers to itself"
    return f"not a valid value here{given}"


def _own(msg: str) -> str:
    """A validator's own message (the project's words already), without pydantic's
    ``Value error, `` or ``Assertion failed, `` in front."""
    return re.sub(r"^(Value error|Assertion failed), ", "", msg)
