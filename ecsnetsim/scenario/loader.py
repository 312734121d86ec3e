"""Load, override, validate and expand scenarios, with errors that point at the line.

``load_scenario`` is the one entry point: YAML file or dict in, a validated
:class:`Scenario` out, with its variants (``compare``) already checked so that an
invalid variant is reported before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import modes
from ..errors import InputError, ScenarioError, clip, show
from .checks import check_scenario
from .expect import check_claims
from .hostos import with_host_network_modes
from .messages import describe, did_you_mean
from .overrides import apply_overrides, set_path
from .schema import NETWORK_MODES, Scenario
from .taskdef import task_definition_fields
from .trunkfile import BASE_KEY
from .yamlsrc import (  # noqa: F401 (question: part of this module's surface)
    Lines,
    check_depth,
    format_path,
    line_of,
    question,
    read_bounded,
    read_yaml_file,
)


@dataclass
class Source:
    """Where a scenario came from, to name it in errors and results."""

    path: str | None = None
    sha256: str | None = None
    raw: dict = field(default_factory=dict)
    lines: Lines = field(default_factory=dict)
    #: Fields that do not come from the file itself (``--set``, a task definition):
    #: field path -> (line to report, what set them).
    origins: dict[tuple, tuple[int | None, str]] = field(default_factory=dict)
    #: Things that are valid but probably not what the user meant (an INACTIVE revision).
    warnings: list[str] = field(default_factory=list)

    def locate(self, loc: tuple) -> tuple[int | None, str]:
        """The line to report for ``loc`` and a note naming what set it, if not the file
        (the closest: ``--set services[0].cpu=1`` over a task definition's whole service)."""
        found = None
        for prefix, origin in self.origins.items():
            if tuple(loc[:len(prefix)]) == prefix and (found is None or len(prefix) > found[0]):
                found = (len(prefix), origin)
        if found is not None:
            return found[1]
        return line_of(self.lines, loc), ""


#: Where a variant's values are written: ``(field path it sets, or None when it sets many;
#: path of the value in the file)`` for each value, the first being the variant's own.
Places = list[tuple[tuple | None, tuple]]
#: A variant being validated: its name and its places.
Variant = tuple[str, Places]


@dataclass
class VariantSpec:
    """One run of a scenario: a name, the overrides that make it, the validated scenario."""

    name: str
    overrides: dict[str, Any]
    scenario: Scenario
    group: str = "base"  # the compare variant this run belongs to
    sweep: dict[str, Any] | None = None  # {"path": ..., "value": ...} for a sweep point


def _where(source: Source, loc: tuple, variant: Variant | None) -> tuple[int | None, str]:
    """Line and message prefix for a problem at ``loc``.

    In a variant, the base scenario is valid, so the variant is what made it invalid:
    the line is that of the value it sets at ``loc`` (or, when the problem is elsewhere,
    its first value), and the prefix names the variant and where that value is written;
    a value from ``--set`` names ``--set`` instead of a line. Otherwise the line of the
    field, or the note of what set it (``--set``, a task definition).
    """
    if variant is None:
        line, note = source.locate(loc)
        return line, f"{note}: " if note else ""
    name, places = variant
    target = places[0][1] if places else ("compare",)
    best = -1
    for resolved, value_loc in places:
        if resolved is not None and tuple(loc[:len(resolved)]) == resolved and \
                len(resolved) > best:
            best, target = len(resolved), value_loc
    line, note = source.locate(target)
    return line, f"in variant {show(name)} ({note or format_path(target)}): "


def _raise_validation(exc: ValidationError, source: Source, variant: Variant | None) -> None:
    found = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        found.append((loc, describe(err, loc, Scenario)))
    first_loc, first_msg = found[0]
    extra = ""
    if len(found) > 1:
        rest = []
        for loc, msg in found[1:6]:
            line, prefix = _where(source, loc, variant)
            at = f" (line {line})" if line is not None else ""
            rest.append(f"  {format_path(loc)}{at}: {prefix}{msg}")
        more = f"\n  ... and {len(found) - 6} more" if len(found) > 6 else ""
        extra = "\nalso:\n" + "\n".join(rest) + more
    line, prefix = _where(source, first_loc, variant)
    raise ScenarioError(prefix + first_msg + extra, file=source.path,
                        path=format_path(first_loc) or None, line=line)


def _read_task_definition(path: Path, service_loc: tuple, source: Source) -> dict:
    """The fields of the task definition at ``path``. A file that cannot be read (missing,
    a directory, a FIFO, too large) is reported at the scenario's ``task_definition`` line;
    a document that is not a valid task definition, in its own file."""
    where = service_loc + ("task_definition",)
    try:
        data = read_bounded(path, what="task definition JSON")
    except ScenarioError as exc:
        raise ScenarioError(f"task definition {show(str(path))}: {exc.message}",
                            file=source.path, path=format_path(where),
                            line=line_of(source.lines, where)) from None
    try:
        fields, warnings = task_definition_fields(data, str(path))
    except ScenarioError as exc:
        raise ScenarioError(f"{exc.message} (the task definition of "
                            f"{format_path(service_loc)})", file=exc.file, path=exc.path,
                            line=exc.line) from None
    source.warnings.extend(warnings)
    return fields


def _merge_task_definitions(raw: dict, source: Source) -> dict:
    services = raw.get("services")
    if not isinstance(services, list):
        return raw
    base = Path(source.path).parent if source.path else Path.cwd()
    for i, svc in enumerate(services):
        if not isinstance(svc, dict) or not isinstance(svc.get("task_definition"), str):
            continue
        loc = ("services", i)
        td = _read_task_definition(base / svc["task_definition"], loc, source)
        if "containers" in svc:
            raise ScenarioError("give either containers or task_definition, not both",
                                file=source.path, path=format_path(loc + ("containers",)),
                                line=line_of(source.lines, loc + ("containers",)))
        note = f"from task definition {str(base / svc['task_definition'])!r}"
        line = line_of(source.lines, loc + ("task_definition",))
        for key, value in td.items():
            if key not in svc:
                svc[key] = value
                source.origins[loc + (key,)] = (line, note)
    return raw


def _context(source: Source) -> dict:
    """What validation needs beyond the data: the directory that paths in the scenario
    (``cluster.trunking_table``) are relative to."""
    return {BASE_KEY: str(Path(source.path).parent if source.path else Path.cwd())}


def _validate(raw: Any, source: Source, variant: Variant | None = None) -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError("expected a mapping of scenario fields at the top level "
                            "(version, name, vpc, cluster, services, ...)", file=source.path,
                            line=1)
    try:
        scenario = Scenario.model_validate(with_host_network_modes(raw),
                                           context=_context(source))
    except ValidationError as exc:
        _raise_validation(exc, source, variant)
    for loc, message in check_scenario(scenario):
        line, prefix = _where(source, loc, variant)
        raise ScenarioError(prefix + message, file=source.path, path=format_path(loc) or None,
                            line=line)
    return scenario


def _adapt_mode(raw: dict, mode: Any) -> dict:
    """Convert every service to ``mode`` the way its task definition must be rewritten
    (each mode says how: :meth:`NetworkMode.adapt_port_mapping`). Used only by the
    ``compare: {network_mode: [...]}`` shorthand, so that one scenario can be compared
    across modes; an unknown mode is left for validation to report.
    """
    out = copy.deepcopy(raw)
    target = modes.MODES.get(mode) if isinstance(mode, str) else None
    for svc in out.get("services") or []:
        if not isinstance(svc, dict):
            continue
        svc["network_mode"] = mode
        for c in svc.get("containers") or []:
            if not isinstance(c, dict) or target is None:
                continue
            maps = c.get("port_mappings") or []
            c["port_mappings"] = [new for m in maps for new in (
                target.adapt_port_mapping(m) if isinstance(m, dict) else [m])]
            if not target.links_allowed:
                c.pop("links", None)
    return out


def _show(value: Any) -> str:
    """A value as YAML spells it (``true``, not ``True``), for variant names."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


#: Most variants (``compare`` values crossed, explicit variants, times the ``sweep``
#: points) a scenario may make. Each is validated when the scenario loads (about a
#: millisecond each), so three compared fields of 100 values would otherwise hold
#: ``validate`` for a quarter of an hour; the cost budget of ``run`` stops far fewer.
MAX_VARIANTS = 10_000


def _count_variants(raw: dict, source: Source, budget: int | None = None) -> None:
    """Refuse, before building any, more variants than :data:`MAX_VARIANTS`, or than
    ``budget`` runs (variants times the scenario's replications): ``ecsnetsim run``'s
    cost budget, applied before the variants are built and validated, which alone would
    take minutes for ten thousand of them."""
    compare = raw.get("compare") if isinstance(raw.get("compare"), dict) else {}
    sweep = raw.get("sweep") if isinstance(raw.get("sweep"), dict) else {}
    axes = [v for k, v in compare.items() if k != "variants" and isinstance(v, list)]
    explicit = compare.get("variants")
    count = 1
    for values in axes:
        count *= max(len(values), 1)
    count = (count if axes else 0) + (len(explicit) if isinstance(explicit, list) else 0)
    points = next((len(v) for v in sweep.values() if isinstance(v, list)), 1)
    total = max(count, 1) * max(points, 1)
    loc = ("sweep",) if count <= 1 else ("compare",)
    if total > MAX_VARIANTS:
        raise _at(source, loc, f"compare and sweep make {total:,} variants; at most "
                               f"{MAX_VARIANTS:,} can be loaded (each one is validated "
                               "first): compare fewer values")
    reps = raw.get("replications")
    reps = reps if isinstance(reps, int) and not isinstance(reps, bool) and reps > 0 else 1
    if budget is not None and total * reps > budget:
        times = f" times {reps} replications" if reps > 1 else ""
        raise _at(source, loc, f"compare and sweep make {total:,} variants{times}, above the "
                               f"{budget:,} that run's cost budget allows (checked before "
                               "the variants are built, which takes long by itself): "
                               "compare fewer values, or add --force to run them anyway")


def _set_value(data: dict, key: str, value: Any) -> tuple[dict, tuple | None]:
    """``data`` with ``key`` set to ``value``, and the field path it set (names resolved);
    ``network_mode`` converts every service (:func:`_adapt_mode`)."""
    if key == "network_mode":
        return _adapt_mode(data, value), ("services",)
    resolved: list = []
    out = set_path(data, key, value, resolved)
    return out, tuple(resolved)


def _variant_raws(raw: dict, source: Source) -> list[tuple[str, dict, dict, Places]]:
    """``(name, overrides, raw data, where its values are written)`` for every variant."""
    compare = raw.get("compare") or {}
    if not isinstance(compare, dict) or not compare:
        return [("base", {}, raw, [])]
    out = []
    explicit = compare.get("variants")
    axes = {k: v for k, v in compare.items() if k != "variants"}
    if axes:
        keys = list(axes)
        for key in keys:
            if not isinstance(axes[key], list) or not axes[key]:
                raise _at(source, ("compare", key), "expected a non-empty list of values to "
                                                     "compare")
        for combo in itertools.product(*(list(enumerate(axes[k])) for k in keys)):
            data = raw
            overrides = {}
            places: Places = []
            for key, (index, value) in zip(keys, combo, strict=True):
                overrides[key] = value
                try:
                    data, resolved = _set_value(data, key, value)
                except InputError as exc:
                    raise _at(source, ("compare", key), exc.message) from None
                places.append((resolved, ("compare", key, index)))
            if len(keys) == 1 and keys[0] == "network_mode":
                name = str(combo[0][1])
            else:
                name = ",".join(f"{k}={_show(v)}" for k, v in overrides.items())
            if len(name) > MAX_NAME:  # it is written into every file and figure
                raise _at(source, places[-1][1], f"the variant this value makes would be "
                          f"named with {len(name):,} characters; at most {MAX_NAME} (name "
                          "it with compare: {variants: [{name: ..., set: ...}]})")
            out.append((name, overrides, data, places))
    for i, item in enumerate(explicit or []):
        loc = ("compare", "variants", i)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str | int) or (
                isinstance(item.get("name"), bool)) or item.get("name") == "":
            raise _at(source, loc, "expected {name: ..., set: {path: value}} with a name")
        unknown = set(item) - {"name", "set"}
        if unknown:
            key = sorted(unknown)[0]
            raise _at(source, loc + (key,), f"unknown key {show(key)}"
                      f"{did_you_mean(key, ['name', 'set'])}; expected one of: name, set")
        data = raw
        sets = item.get("set") or {}
        if not isinstance(sets, dict):
            raise _at(source, loc + ("set",), "expected a mapping of field paths to values, "
                                              "e.g. {services[0].desired_count: 8}")
        places = [(None, loc)]
        for key, value in sets.items():
            try:
                data, resolved = _set_value(data, key, value)
            except InputError as exc:
                raise _at(source, loc + ("set", key), exc.message) from None
            places.append((resolved, loc + ("set", key)))
        _check_variant_name(str(item["name"]), source, loc + ("name",))
        out.append((str(item["name"]), dict(sets), data, places))
    names = [n for n, _, _, _ in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        name = sorted(dup)[0]
        second = [places for n, _, _, places in out if n == name][1]
        raise _at(source, second[0][1] if second else ("compare",),
                  f"two variants are named {show(name)}; variant names must be unique")
    return out


#: Most characters of a variant's name, its own or made of the values it compares.
MAX_NAME = 255
#: A variant's own name: what :data:`~ecsnetsim.scenario.schema.VariantName` allows.
_VARIANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._=:,+-]{0,254}")


def _check_variant_name(name: str, source: Source, loc: tuple) -> None:
    """A variant's name is written into every result file, figure and CSV cell: up to 255
    characters of a safe set, starting with a letter or digit (never ``=``, ``+``,
    ``-`` or ``@``, which a spreadsheet reads as a formula)."""
    if not _VARIANT_NAME.fullmatch(name):
        raise _at(source, loc, f"expected up to 255 letters, digits, spaces, '.', '_', '-', "
                               f"'=', ':', ',' or '+', starting with a letter or digit "
                               f"(got {show(name)})")


def _at(source: Source, loc: tuple, message: str) -> ScenarioError:
    """An error at ``loc`` of the file, or naming ``--set`` if that is what wrote it."""
    line, note = source.locate(loc)
    return ScenarioError(f"{note}: {message}" if note else message, file=source.path,
                         path=format_path(loc) or None, line=line)


def load_scenario(
    source: str | Path | dict | Scenario, overrides: list[str] | None = None,
    variant_budget: int | None = None,
) -> Scenario:
    """Load and validate a scenario from a YAML path, a dict or a Scenario.

    ``overrides`` are ``PATH=VALUE`` strings applied before validation. Every variant
    of ``compare`` is validated too; ``variant_budget``, when given, refuses more runs
    (variants times replications) before any variant is built. Raises
    :class:`ScenarioError` with file, field path and line.
    """
    if isinstance(source, Scenario):
        raw = source.model_dump(by_alias=True, exclude_none=True)
        src = Source(path=getattr(source, "_path", None))
    elif isinstance(source, dict):
        check_depth(source)
        raw = copy.deepcopy(source)
        src = Source()
    else:
        data, lines, text = read_yaml_file(source)
        src = Source(path=str(source), sha256=hashlib.sha256(text.encode()).hexdigest(),
                     lines=lines)
        if data is None:
            raise ScenarioError("the file is empty; expected a scenario (version: 1, name, vpc, "
                                "cluster, services, ...)", file=str(source), line=1)
        raw = data
    if overrides and isinstance(raw, dict):
        origins: dict[tuple, str] = {}
        try:
            raw = apply_overrides(raw, overrides, origins)
        except InputError as exc:
            raise ScenarioError(exc.message, file=src.path) from None
        src.origins.update({loc: (None, f"--set {clip(text, 80)}")
                            for loc, text in origins.items()})
    if isinstance(raw, dict):
        raw = _merge_task_definitions(raw, src)
    scenario = _validate(raw, src)
    if src.sha256 is None:
        src.sha256 = hashlib.sha256(
            json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    src.raw = raw
    if scenario.duration == 0 and scenario.events:
        src.warnings.append(
            "duration is 0: the run ends when the services are first steady, and an event "
            "after that never happens; give a duration at least as long as the last event's "
            f"at ({max(e.at for e in scenario.events):g}s)")
    scenario._source = src
    _count_variants(raw, src, variant_budget)
    scenario._variants = [
        VariantSpec(name, ov, _validate(data, src, (name, places)) if ov else scenario,
                    group=group, sweep=point)
        for name, ov, data, places, group, point in _with_sweep(_variant_raws(raw, src), raw,
                                                                src)
    ]
    check_claims(scenario, src, scenario._variants)  # names that exist
    return scenario


def _with_sweep(variants, raw: dict, source: Source):
    """Cross every compare variant with the values of ``sweep`` (one field)."""
    sweep = raw.get("sweep") or {}
    if not sweep:
        for name, ov, data, places in variants:
            yield name, ov, data, places, name, None
        return
    (path, values), = sweep.items()
    short = path.rsplit(".", 1)[-1]
    for name, ov, data, places in variants:
        for i, value in enumerate(values):
            try:
                resolved: list = []
                point = set_path(data, path, value, resolved)
            except InputError as exc:
                raise _at(source, ("sweep", path), exc.message) from None
            label = f"{short}={_show(value)}"
            yield (label if name == "base" else f"{name} {label}", {**ov, path: value}, point,
                   [*places, (tuple(resolved), ("sweep", path, i))], name,
                   {"path": path, "value": value})


def variants_of(scenario: Scenario) -> list[VariantSpec]:
    """The validated variants of a loaded scenario (``[base]`` without ``compare``)."""
    if getattr(scenario, "_variants", None) is None:
        scenario = load_scenario(scenario)
    return scenario._variants


def source_of(scenario: Scenario) -> Source:
    if getattr(scenario, "_source", None) is None:
        scenario = load_scenario(scenario)
    return scenario._source


__all__ = ["load_scenario", "variants_of", "source_of", "VariantSpec", "Source", "NETWORK_MODES"]
