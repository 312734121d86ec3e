"""Check a ``results.json`` against the result schema before anything reads it.

``plot`` redraws figures from result files alone, and result files are user input: a
copy edited by hand, truncated, re-encoded or written by another version. The figure
code reads them as ``run`` wrote them, so a wrong type or a missing key deep inside
would surface as a TypeError in matplotlib. Here every field the figures and tables
read is checked first, and the first problem is reported with its field path
(``variants[0].flows[1].latency_us.p99``): exit status 2, no traceback.

The schema is data: a dict is an object (a key ending in ``?`` may be absent), a
one-item list a list of that item, and the leaf checks say what they accept. The rows'
part of it is derived from the row types of :mod:`ecsnetsim.rows` (:func:`schema_of`), so
that the names and types of a row's fields are written in one place; only the document's
own frame is written here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from . import __version__, rows
from .errors import InputError
from .rows import SCHEMA_VERSION
from .scenario.yamlsrc import format_path, read_bounded

#: Largest results.json read (a long sweep writes a few MB).
MAX_RESULTS_BYTES = 256 * 1024 * 1024


class _Leaf:
    """A check of a single value, with the words that say what it expects."""

    def __init__(self, expected: str, ok, nullable: bool = False) -> None:
        self.expected = expected + (" or null" if nullable else "")
        self.ok = ok
        self.nullable = nullable

    def __call__(self, value: Any) -> bool:
        return (self.nullable and value is None) or self.ok(value)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


NUM = _Leaf("a finite number", _is_num)
INT = _Leaf("a whole number", _is_int)
STR = _Leaf("a string", lambda v: isinstance(v, str))
BOOL = _Leaf("true or false", lambda v: isinstance(v, bool))
ANY = _Leaf("any value", lambda v: True)
NUM_OR_NULL = _Leaf("a finite number", _is_num, nullable=True)
INT_OR_NULL = _Leaf("a whole number", _is_int, nullable=True)
STR_OR_NULL = _Leaf("a string", lambda v: isinstance(v, str), nullable=True)


class _MapOf:
    """An object with any string keys whose values all pass ``item``."""

    def __init__(self, item) -> None:
        self.item = item


class _Nullable:
    """``spec`` or null."""

    def __init__(self, spec) -> None:
        self.spec = spec


class _NonEmpty:
    """A list of ``item`` with at least one."""

    def __init__(self, item) -> None:
        self.item = item


def _spec(tp: Any, nullable: bool = False):
    """The check of a field of type ``tp`` (``int``, ``str | None``, ``list[FlowRow]``,
    ``dict[str, int]``, a row type)."""
    if get_origin(tp) in (Union, UnionType) and NoneType in get_args(tp):
        return _spec(_not_none(tp), nullable=True)
    leaf = _LEAVES.get(tp)
    if leaf is not None:
        return leaf[nullable]
    if get_origin(tp) is list:
        spec = [_spec(get_args(tp)[0])]
    elif get_origin(tp) is dict:
        spec = _MapOf(_spec(get_args(tp)[1]))
    elif isinstance(tp, type) and issubclass(tp, rows.Row):
        spec = schema_of(tp)
    else:  # pragma: no cover - a row field of a type this module does not know
        raise TypeError(f"no result check for {tp!r}")
    return _Nullable(spec) if nullable else spec


def schema_of(row_type: type) -> dict:
    """The schema of a row type, from its fields: a key a results file may lack is
    written ``key?``; a key left out when None is never null when present."""
    return {key + ("?" if optional else ""): _spec(_not_none(tp) if omit else tp)
            for key, tp, optional, omit in rows.schema_fields(row_type)}


def _not_none(tp: Any) -> Any:
    """``tp`` without its ``| None``."""
    if get_origin(tp) in (Union, UnionType):
        inner = [a for a in get_args(tp) if a is not NoneType]
        if len(inner) == 1:
            return inner[0]
    return tp


#: The leaf check of a scalar field type: (not null, or null).
_LEAVES = {int: (INT, INT_OR_NULL), float: (NUM, NUM_OR_NULL), str: (STR, STR_OR_NULL),
           bool: (BOOL, _Leaf("true or false", lambda v: isinstance(v, bool), nullable=True)),
           Any: (ANY, ANY)}
#: A variant's schema holds every row's (services, instances, flows, ...), derived from
#: the row types through the variant's fields.
VARIANT = schema_of(rows.VariantResult)
COMPARED = schema_of(rows.ComparisonRow)
DOCUMENT = {
    "schema_version": INT, "ecsnetsim_version?": STR, "seed?": INT,
    "scenario?": {"name": STR, "path?": STR_OR_NULL, "sha256?": STR_OR_NULL},
    "variants": _NonEmpty(VARIANT),
    "comparison?": {"baseline?": STR, "flows?": [COMPARED]},
}


def _kind(value: Any) -> str:
    """How JSON spells the type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number" if math.isfinite(value) else f"{value} (not a finite number)"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), "a value")


def _check(value: Any, spec, path: tuple) -> tuple[tuple, str] | None:
    """The first problem in ``value`` against ``spec``: (field path, message), or None."""
    if isinstance(spec, _Leaf):
        return None if spec(value) else (path, f"expected {spec.expected}, got {_kind(value)}")
    if isinstance(spec, _Nullable):
        return None if value is None else _check(value, spec.spec, path)
    if isinstance(spec, list | _NonEmpty):
        item = spec[0] if isinstance(spec, list) else spec.item
        if not isinstance(value, list):
            return path, f"expected a list, got {_kind(value)}"
        if isinstance(spec, _NonEmpty) and not value:
            return path, "expected at least one item, got an empty list"
        for i, v in enumerate(value):
            problem = _check(v, item, path + (i,))
            if problem:
                return problem
        return None
    if not isinstance(value, dict):
        return path, f"expected an object, got {_kind(value)}"
    if isinstance(spec, _MapOf):
        for k, v in value.items():
            problem = _check(v, spec.item, path + (k,))
            if problem:
                return problem
        return None
    missing = [k for k in spec if not k.endswith("?") and k not in value]
    if missing:
        return path, f"missing {', '.join(missing)}"
    for key, sub in spec.items():
        name = key.rstrip("?")
        if name in value:
            problem = _check(value[name], sub, path + (name,))
            if problem:
                return problem
    return None


def _references(doc: dict) -> tuple[tuple, str] | None:
    """Names that must point at something: unique variant names, and the variants and
    baseline a comparison row names."""
    names = [v["name"] for v in doc["variants"]]
    for i, name in enumerate(names):
        if name in names[:i]:
            return ("variants", i, "name"), f"a second variant named {name!r}"
    groups = {v.get("group", v["name"]) for v in doc["variants"]}
    comparison = doc.get("comparison") or {}
    if comparison.get("baseline") is not None and comparison["baseline"] not in groups | set(
            names):
        return ("comparison", "baseline"), (f"names no variant ({comparison['baseline']!r}); "
                                            f"expected one of {sorted(groups)}")
    for i, row in enumerate(comparison.get("flows") or []):
        for key in ("variant", "baseline_variant"):
            if key in row and row[key] not in names:
                return ("comparison", "flows", i, key), (f"names no variant ({row[key]!r}); "
                                                         f"expected one of {names[:10]}")
    return None


def _no_constant(text: str):
    raise ValueError(f"{text} is not a number JSON allows")


def load_results(outdir: str | Path) -> dict:
    """Read and check ``outdir/results.json``; return the document. Any problem is an
    :class:`InputError` naming the file and the field (or line) at fault."""
    path = Path(outdir) / "results.json"
    try:
        data = read_bounded(path, MAX_RESULTS_BYTES, what="results.json")
    except InputError as exc:
        raise InputError(exc.message, file=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}); expected the "
                         "results.json of 'ecsnetsim run'", file=str(path), line=line) from None
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=str(path),
                         line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise InputError(f"not valid JSON: {reason}", file=str(path)) from None
    if not isinstance(doc, dict) or "variants" not in doc:
        raise InputError("expected the results.json of 'ecsnetsim run' (an object with "
                         "schema_version and variants)", file=str(path))
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"schema_version is {doc.get('schema_version')!r}; this "
                         f"ecsnetsim {__version__} reads {SCHEMA_VERSION}",
                         file=str(path), path="schema_version")
    problem = _check(doc, DOCUMENT, ()) or _references(doc)
    if problem:
        where, message = problem
        raise InputError(message, file=str(path), path=format_path(where) or None)
    return doc
