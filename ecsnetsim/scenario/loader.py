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
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .. import modes
from ..errors import InputError, ScenarioError
from ..expect import check_claims
from .checks import check_scenario
from .overrides import apply_overrides, set_path
from .schema import NETWORK_MODES, Scenario
from .yamlsrc import Lines, format_path, line_of, read_yaml_file


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
        """The line to report for ``loc`` and a note naming what set it, if not the file."""
        for prefix, (line, note) in self.origins.items():
            if tuple(loc[:len(prefix)]) == prefix:
                return line, note
        return line_of(self.lines, loc), ""


@dataclass
class VariantSpec:
    """One run of a scenario: a name, the overrides that make it, the validated scenario."""

    name: str
    overrides: dict[str, Any]
    scenario: Scenario
    group: str = "base"  # the compare variant this run belongs to
    sweep: dict[str, Any] | None = None  # {"path": ..., "value": ...} for a sweep point


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


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(err: dict, loc: tuple) -> str:
    kind = err.get("type", "")
    msg = err.get("msg", "")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "extra_forbidden":
        parent = _model_at(Scenario, loc[:-1])
        expected = f"; expected one of: {', '.join(_field_names(parent))}" if parent else ""
        return f"unknown key {loc[-1]!r}{expected}"
    if kind == "missing":
        return "required field is missing"
    got = err.get("input")
    if isinstance(got, dict | list) or got is None:
        shown = ""
    elif isinstance(got, str | int | float):
        shown = f" (got {got!r})"
    else:  # a date or time that YAML read from an unquoted value
        shown = f" (got {str(got)!r}, which YAML reads as a {type(got).__name__})"
    msg = re.sub(r" or instance of \w+", "", msg)
    if kind == "string_pattern_mismatch" and loc == ("name",):
        return ("expected letters, digits, '.', '_' or '-', starting with a letter or digit "
                "(it names the results directory)" + shown)
    if kind.startswith("literal_error"):
        return "expected " + msg.removeprefix("Input should be ") + shown
    if msg.startswith("Input should be"):
        return "expected " + msg.removeprefix("Input should be ") + shown
    return msg


def _where(source: Source, loc: tuple, variant: tuple[str, tuple] | None):
    """Line and message prefix for a problem at ``loc``.

    In a variant, the line is the variant's own (the base scenario is valid, so the
    variant is what made it invalid); otherwise the line of the field, or of what set it.
    """
    if variant is not None:
        name, vloc = variant
        return line_of(source.lines, vloc), f"in variant {name!r} ({format_path(vloc)}): "
    line, note = source.locate(loc)
    return line, f"{note}: " if note else ""


def _raise_validation(exc: ValidationError, source: Source,
                      variant: tuple[str, tuple] | None) -> None:
    errors = exc.errors()
    lines = []
    for err in errors:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        lines.append((loc, _describe(err, loc)))
    first_loc, first_msg = lines[0]
    extra = ""
    if len(lines) > 1:
        rest = []
        for loc, msg in lines[1:6]:
            line, note = _where(source, loc, None)
            at = f" (line {line})" if line is not None and variant is None else ""
            rest.append(f"  {format_path(loc)}{at}: {note if variant is None else ''}{msg}")
        more = f"\n  ... and {len(lines) - 6} more" if len(lines) > 6 else ""
        extra = "\nalso:\n" + "\n".join(rest) + more
    line, prefix = _where(source, first_loc, variant)
    raise ScenarioError(prefix + first_msg + extra, file=source.path,
                        path=format_path(first_loc) or None, line=line)


def _td_units(value: Any, key: str, file: str) -> int:
    """Task-level ``cpu``/``memory`` as registered: ``"256"``, ``"1 vCPU"``, ``"2 GB"``."""
    text = str(value).strip().lower()
    scale = 1
    for unit, factor in (("vcpu", 1024), ("gb", 1024), ("mb", 1), ("mib", 1), ("gib", 1024)):
        if text.endswith(unit):
            text, scale = text[: -len(unit)].strip(), factor
            break
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or number < 0 or number * scale != int(number * scale):
        what = "CPU units or vCPU" if key == "cpu" else "MiB or GB"
        raise ScenarioError(f"{key} {value!r} is not a number of {what}", file=file)
    return int(number * scale)


def _td_list(doc: dict, key: str, file: str, where: str = "") -> list[dict]:
    """``doc[key]`` as a list of JSON objects, or an error naming the key."""
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ScenarioError(f"{where}{key}: expected a list of JSON objects", file=file)
    return items


def _td_container(c: dict, i: int, file: str) -> dict:
    """One container definition in the scenario's terms (name, port mappings, links)."""
    maps = []
    for pm in _td_list(c, "portMappings", file, f"containerDefinitions[{i}]."):
        m = {}
        for key, name in (("containerPort", "container_port"),
                          ("containerPortRange", "container_port_range"),
                          ("hostPort", "host_port"), ("protocol", "protocol")):
            if key in pm:
                m[name] = pm[key]
        maps.append(m)
    out = {"name": c.get("name", "app"), "port_mappings": maps}
    if c.get("links"):
        out["links"] = c["links"]
    return out


def _read_task_definition(path: Path, service_loc: tuple, source: Source) -> dict:
    """Read an ECS task definition JSON (``describe-task-definition`` output or bare)."""
    where = service_loc + ("task_definition",)
    file = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"task definition file {file!r} not found", file=source.path,
                            path=format_path(where), line=line_of(source.lines, where)) from None
    except IsADirectoryError:
        raise ScenarioError(f"task definition {file!r} is a directory; expected a JSON file",
                            file=source.path, path=format_path(where),
                            line=line_of(source.lines, where)) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ScenarioError(f"cannot read task definition {file!r}: {reason}",
                            file=source.path, path=format_path(where),
                            line=line_of(source.lines, where)) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"not valid JSON (the task definition of "
                            f"{format_path(service_loc)}): {exc.msg}", file=file,
                            line=exc.lineno) from None
    if isinstance(doc, dict) and "taskDefinition" in doc:
        doc = doc["taskDefinition"]
    if not isinstance(doc, dict) or "containerDefinitions" not in doc:
        raise ScenarioError("expected an ECS task definition with containerDefinitions",
                            file=file)
    out: dict[str, Any] = {}
    if doc.get("networkMode") is not None:
        out["network_mode"] = doc["networkMode"]
    container_defs = _td_list(doc, "containerDefinitions", file)
    for key in ("cpu", "memory"):
        if doc.get(key) is not None:
            out[key] = _td_units(doc[key], key, file)
    # Without task-level sizes (allowed on EC2), ECS reserves the sum of the containers'
    # cpu and memoryReservation (or memory, the hard limit, when no reservation is given).
    for key, fields in (("cpu", ("cpu",)), ("memory", ("memoryReservation", "memory"))):
        sizes = [next((c[f] for f in fields if c.get(f) is not None), None)
                 for c in container_defs]
        if key not in out and any(v is not None for v in sizes):
            out[key] = sum(_td_units(v, key, file) for v in sizes if v is not None)
    out["containers"] = [_td_container(c, i, file) for i, c in enumerate(container_defs)]
    compat = doc.get("requiresCompatibilities")
    if compat is not None:
        out["requires_compatibilities"] = compat
        if "FARGATE" in compat and "EC2" not in compat:
            out["launch_type"] = "FARGATE"
    platform = doc.get("runtimePlatform")
    if isinstance(platform, dict):
        out["runtime_platform"] = {k: v for k, v in (
            ("operating_system_family", platform.get("operatingSystemFamily")),
            ("cpu_architecture", platform.get("cpuArchitecture"))) if v is not None}
    if doc.get("status") == "INACTIVE":
        rev = f"{doc.get('family', '?')}:{doc.get('revision', '?')}"
        source.warnings.append(
            f"{file}: task definition {rev} is INACTIVE (deregistered): ECS keeps running "
            "existing tasks of it but new services and deployments cannot use it")
    constraints = [
        {k: v for k, v in (("type", pc.get("type")), ("expression", pc.get("expression")))
         if v is not None}
        for pc in _td_list(doc, "placementConstraints", file)
    ]
    if constraints:
        out["placement_constraints"] = constraints
    return out


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


def _validate(raw: Any, source: Source, variant: tuple[str, tuple] | None = None) -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError("expected a mapping of scenario fields at the top level "
                            "(version, name, vpc, cluster, services, ...)", file=source.path,
                            line=1)
    try:
        scenario = Scenario.model_validate(raw)
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


def _variant_raws(raw: dict, source: Source) -> list[tuple[str, dict, dict, tuple]]:
    """``(name, overrides, raw data, where the variant is defined)`` for every variant."""
    compare = raw.get("compare") or {}
    if not isinstance(compare, dict) or not compare:
        return [("base", {}, raw, ())]
    out = []
    explicit = compare.get("variants")
    axes = {k: v for k, v in compare.items() if k != "variants"}
    if axes:
        keys = list(axes)
        for key in keys:
            if not isinstance(axes[key], list) or not axes[key]:
                raise ScenarioError("expected a non-empty list of values to compare",
                                    file=source.path, path=f"compare.{key}",
                                    line=line_of(source.lines, ("compare", key)))
        for combo in itertools.product(*(axes[k] for k in keys)):
            data = raw
            overrides = {}
            for key, value in zip(keys, combo, strict=True):
                overrides[key] = value
                try:
                    if key == "network_mode":
                        data = _adapt_mode(data, value)
                    else:
                        data = set_path(data, key, value)
                except InputError as exc:
                    raise ScenarioError(exc.message, file=source.path, path=f"compare.{key}",
                                        line=line_of(source.lines, ("compare", key))) from None
            if len(keys) == 1 and keys[0] == "network_mode":
                name = str(combo[0])
            else:
                name = ",".join(f"{k}={_show(v)}" for k, v in overrides.items())
            out.append((name, overrides, data, ("compare", keys[0]) if len(keys) == 1 else
                        ("compare",)))
    for i, item in enumerate(explicit or []):
        loc = ("compare", "variants", i)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str | int) or (
                isinstance(item.get("name"), bool)) or item.get("name") == "":
            raise ScenarioError("expected {name: ..., set: {path: value}} with a name",
                                file=source.path, path=format_path(loc),
                                line=line_of(source.lines, loc))
        unknown = set(item) - {"name", "set"}
        if unknown:
            raise ScenarioError(f"unknown key {sorted(unknown)[0]!r}; expected one of: name, set",
                                file=source.path, path=format_path(loc),
                                line=line_of(source.lines, loc))
        data = raw
        sets = item.get("set") or {}
        if not isinstance(sets, dict):
            raise ScenarioError("expected a mapping of field paths to values, e.g. "
                                "{services[0].desired_count: 8}", file=source.path,
                                path=format_path(loc + ("set",)),
                                line=line_of(source.lines, loc + ("set",)))
        for key, value in sets.items():
            try:
                data = _adapt_mode(data, value) if key == "network_mode" else set_path(
                    data, key, value)
            except InputError as exc:
                raise ScenarioError(exc.message, file=source.path,
                                    path=format_path(loc + ("set", key)),
                                    line=line_of(source.lines, loc + ("set", key))) from None
        out.append((str(item["name"]), dict(sets), data, loc))
    names = [n for n, _, _, _ in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        name = sorted(dup)[0]
        second = [vloc for n, _, _, vloc in out if n == name][1]
        raise ScenarioError(f"two variants are named {name!r}; variant names must be unique",
                            file=source.path, path=format_path(second) or "compare",
                            line=line_of(source.lines, second or ("compare",)))
    return out


def question(path: str | Path) -> str:
    """The comment block a scenario file starts with (by convention: the question it answers
    and the result to expect), without the ``#`` marks; empty when there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return "\n".join(lines)


def load_scenario(
    source: str | Path | dict | Scenario, overrides: list[str] | None = None
) -> Scenario:
    """Load and validate a scenario from a YAML path, a dict or a Scenario.

    ``overrides`` are ``PATH=VALUE`` strings applied before validation. Every variant
    of ``compare`` is validated too. Raises :class:`ScenarioError` with file, field
    path and line.
    """
    if isinstance(source, Scenario):
        raw = source.model_dump(by_alias=True, exclude_none=True)
        src = Source(path=getattr(source, "_path", None))
    elif isinstance(source, dict):
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
        src.origins.update({loc: (None, f"--set {text}") for loc, text in origins.items()})
    if isinstance(raw, dict):
        raw = _merge_task_definitions(raw, src)
    scenario = _validate(raw, src)
    if src.sha256 is None:
        src.sha256 = hashlib.sha256(
            json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    src.raw = raw
    scenario._source = src
    scenario._variants = [
        VariantSpec(name, ov, _validate(data, src, (name, vloc)) if ov else scenario,
                    group=group, sweep=point)
        for name, ov, data, vloc, group, point in _with_sweep(_variant_raws(raw, src), raw, src)
    ]
    check_claims(scenario)  # expect: names variants, services and flows that exist
    return scenario


def _with_sweep(variants, raw: dict, source: Source):
    """Cross every compare variant with the values of ``sweep`` (one field)."""
    sweep = raw.get("sweep") or {}
    if not sweep:
        for name, ov, data, vloc in variants:
            yield name, ov, data, vloc, name, None
        return
    (path, values), = sweep.items()
    short = path.rsplit(".", 1)[-1]
    for name, ov, data, vloc in variants:
        for i, value in enumerate(values):
            loc = ("sweep", path, i)
            try:
                point = set_path(data, path, value)
            except InputError as exc:
                raise ScenarioError(exc.message, file=source.path, path=f"sweep.{path}",
                                    line=line_of(source.lines, ("sweep", path))) from None
            label = f"{short}={_show(value)}"
            yield (label if name == "base" else f"{name} {label}", {**ov, path: value}, point,
                   vloc or loc, name, {"path": path, "value": value})


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
