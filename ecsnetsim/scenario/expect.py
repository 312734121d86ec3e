"""Claims a scenario makes about its own results (``expect:``), and whether a run agrees.

A scenario's ``# Expected:`` header says in prose what the run should show; ``expect:``
says the same as claims a run can check, so that the prose cannot drift from what the
simulator does without a test noticing. A claim compares two sides::

    "awsvpc: web.running == 4"
    "bridge: flow ingress.hops > host: flow ingress.hops"
    "no-grace: deployment web.status == STALLED"
    "awsvpc: web.failures.RESOURCE:ENI == web.desired - web.running"
    "public awsvpc: flow egress.blocked.reason contains 'never get a public IP'"

A side is a reference, a literal (a number, ``none``, ``true``/``false``, a bare word such
as ``COMPLETED`` or ``RESOURCE:ENI``, or quoted text) or arithmetic over them
(``+ - * /``). Operators are written with a space on each side; the comparison is one of
``== != < <= > >= contains lacks``. A reference is ``[VARIANT: ]TARGET.FIELD`` (the
targets and their fields are :data:`FIELDS`). A reference without a variant takes the
one named last before it in the claim; when none is named before it, the claim is
checked in every variant. Numbers are equal when they agree to 9 significant digits.

Claims are parsed when the scenario is validated (a syntax error or an unknown field is
a schema error at the claim's line) and their names checked against every variant once
the variants are known (:func:`check_claims`: an unknown variant, service, flow, subnet
or deployment is a :class:`ScenarioError` at the claim's line). :func:`evaluate` checks
them against a results document and gives the ``expectations`` block of results.json;
:func:`verdict` the lines the summary and report print.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, ScenarioError
from ..labels import variant_label
from .yamlsrc import line_of, question

NUM, TEXT, BOOL, LIST = "a number", "text", "true or false", "a list"
#: Summed dicts of counts: ``failures`` alone is their total, ``failures.KEY`` one count
#: (0 when the key is absent).
COUNTS = "counts"
#: Per-instance or per-device numbers, aggregated with ``.max``, ``.min`` or ``.sum``.
AGGREGATED = "aggregated"
AGGREGATES = {"max": max, "min": min, "sum": sum}

#: Targets and their fields. Targets with a name are written ``KEYWORD NAME.FIELD``
#: (a service is written ``NAME.FIELD``); the others ``KEYWORD.FIELD``.
FIELDS: dict[str, dict[str, str]] = {
    "service": {"desired": NUM, "running": NUM, "pending": NUM, "unplaced": NUM,
                "steady_at": NUM, "last_running_at": NUM, "network_mode": TEXT,
                "launch_type": TEXT, "failures": COUNTS, "launch_failures": COUNTS,
                "stopped": COUNTS, "running_old": NUM, "capacity_providers": COUNTS},
    "flow": {"sent": NUM, "delivered": NUM, "dropped": NUM, "unreachable": NUM,
             "in_flight": NUM, "hops": NUM, "hops.mean": NUM, "hops.min": NUM,
             "hops.max": NUM, "latency_us.mean": NUM, "latency_us.p50": NUM,
             "latency_us.p90": NUM, "latency_us.p99": NUM, "latency_us.max": NUM,
             "throughput_pps": NUM, "path": LIST, "breakdown_us": COUNTS, "blocked": BOOL,
             "blocked.at": TEXT, "blocked.reason": TEXT, "connections.opened": NUM,
             "connections.completed": NUM, "connections.peak_open": NUM},
    "deployment": {"status": TEXT, "revision": NUM, "waves": NUM, "started_at": NUM,
                   "finished_at": NUM, "min_healthy_observed": NUM,
                   "zero_healthy_seconds": NUM, "failures": COUNTS},
    "subnet": {"usable": NUM, "ips_used": NUM, "ips_free": NUM},
    "discovery": {"type": TEXT, "records": LIST},
    "az": {"tasks": NUM, "instances": NUM},
    "devices": {"count": NUM, "packets": AGGREGATED, "utilization": AGGREGATED,
                "mean_wait_us": AGGREGATED, "drops": AGGREGATED},
    "instances": {"count": NUM, "used": NUM, "trunked": NUM, "tasks": AGGREGATED,
                  "eni.used": AGGREGATED, "eni.limit": AGGREGATED,
                  "branch_eni.used": AGGREGATED, "branch_eni.limit": AGGREGATED,
                  "ips_used": AGGREGATED, "cpu.used": AGGREGATED, "cpu.limit": AGGREGATED,
                  "memory.used": AGGREGATED, "memory.limit": AGGREGATED,
                  "ports.dynamic_used": AGGREGATED, "conntrack.peak": AGGREGATED,
                  "conntrack.max": AGGREGATED, "conntrack.dropped": AGGREGATED,
                  "ephemeral_ports.peak": AGGREGATED,
                  "ena.conntrack_allowance_exceeded": AGGREGATED,
                  "ena.linklocal_allowance_exceeded": AGGREGATED,
                  "ena.pps_allowance_exceeded": AGGREGATED,
                  "ena.bw_in_allowance_exceeded": AGGREGATED,
                  "ena.bw_out_allowance_exceeded": AGGREGATED},
    "fargate": {"tasks": NUM, "enis": NUM, "ips_used": NUM, "by_az": COUNTS},
    "variant": {"steady_at": NUM, "steady": BOOL, "end": NUM},
}
#: Targets written with a name after the keyword.
NAMED = ("flow", "deployment", "subnet", "discovery", "az", "devices")
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">", "contains", "lacks")
ARITHMETIC = ("+", "-", "*", "/")
_TOKENS = re.compile(r"\"[^\"]*\"|'[^']*'|(?:^|(?<=\s))(==|!=|<=|>=|<|>|contains|lacks|"
                     r"\+|-|\*|/)(?=\s|$)")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class Ref:
    """``[variant: ]target[ name].field``; ``type`` is what the field holds."""

    variant: str | None
    target: str
    name: str | None
    field: str
    type: str
    text: str


@dataclass(frozen=True)
class Lit:
    value: Any
    text: str

    @property
    def type(self) -> str:
        v = self.value
        return (BOOL if isinstance(v, bool) else NUM if isinstance(v, int | float)
                else "none" if v is None else TEXT)


@dataclass(frozen=True)
class Arith:
    op: str
    left: Any
    right: Any
    type: str = NUM


@dataclass(frozen=True)
class Claim:
    text: str
    op: str
    left: Any
    right: Any

    def refs(self) -> list[Ref]:
        return list(_refs(self.left)) + list(_refs(self.right))


def _refs(node) -> Iterator[Ref]:
    if isinstance(node, Ref):
        yield node
    elif isinstance(node, Arith):
        yield from _refs(node.left)
        yield from _refs(node.right)


def field_type(target: str, field: str) -> str | None:
    """What ``field`` of ``target`` holds (:data:`NUM`, ...), None if it has no such field."""
    fields = FIELDS[target]
    if field in fields:
        kind = fields[field]
        return None if kind == AGGREGATED else NUM if kind == COUNTS else kind
    head, _, last = field.rpartition(".")
    kind = fields.get(head)
    if kind == AGGREGATED and last in AGGREGATES:
        return NUM
    if kind == LIST and last == "count":
        return NUM
    for name, kind in fields.items():  # counts keys may hold dots of their own
        if kind == COUNTS and field.startswith(name + ".") and len(field) > len(name) + 1:
            return NUM
    return None


def _field_help(target: str) -> str:
    out = []
    for name, kind in FIELDS[target].items():
        out.append(f"{name}.max|min|sum" if kind == AGGREGATED else
                   f"{name}[.KEY]" if kind == COUNTS else
                   f"{name}[.count]" if kind == LIST else name)
    return ", ".join(out)


def _operand(text: str, variant: str | None, first: bool = False) -> Ref | Lit:
    """One side's term: a reference (named variant or carried over) or a literal. The
    claim's first term is always a reference, so that a misspelt field there is an error,
    not a word."""
    chunk = text.strip()
    if not chunk:
        raise ValueError("an operand is missing (operators need a value on each side)")
    if chunk[0] in "\"'":
        return Lit(chunk[1:-1], chunk)
    named, sep, rest = chunk.rpartition(": ")
    if sep:
        if not named.strip():
            raise ValueError(f"{chunk!r}: the variant name before ':' is empty")
        return _ref(rest.strip(), named.strip(), chunk, required=True)
    ref = _ref(chunk, variant, chunk, required=first)
    if ref is not None:
        return ref
    if _NUMBER.fullmatch(chunk):
        number = float(chunk)
        return Lit(int(number) if number.is_integer() and "." not in chunk and "e" not in
                   chunk.lower() else number, chunk)
    word = {"none": None, "true": True, "false": False}
    if chunk in word:
        return Lit(word[chunk], chunk)
    if any(c.isspace() for c in chunk):
        raise ValueError(f"{chunk!r} is neither a reference nor one word; quote text with "
                         "spaces, and write a variant as 'NAME: ' before a reference")
    return Lit(chunk, chunk)


def _ref(text: str, variant: str | None, whole: str, required: bool) -> Ref | None:
    """``text`` as a reference; None when it is not one and need not be."""
    keyword, space, rest = text.partition(" ")
    if space and keyword in NAMED:
        for i in [i for i, c in enumerate(rest) if c == "."]:
            name, field = rest[:i].strip(), rest[i + 1:]
            kind = field_type(keyword, field)
            if name and kind:
                return Ref(variant, keyword, name, field, kind, whole)
        raise ValueError(f"{whole!r}: expected {keyword} NAME.FIELD, FIELD one of: "
                         f"{_field_help(keyword)}")
    head, dot, field = text.partition(".")
    if head in ("instances", "fargate", "variant") and dot:
        kind = field_type(head, field)
        if kind is None:
            raise ValueError(f"{whole!r}: {head} has no field {field!r}; expected one of: "
                             f"{_field_help(head)}")
        return Ref(variant, head, None, field, kind, whole)
    for i in [i for i, c in enumerate(text) if c == "."]:
        name, field = text[:i], text[i + 1:]
        kind = field_type("service", field)
        if name and kind and not name.startswith(tuple(k + " " for k in NAMED)):
            return Ref(variant, "service", name, field, kind, whole)
    if required:
        name, _, field = text.partition(".")
        said = f"a service has no field {field!r}; " if field else ""
        raise ValueError(
            f"{whole!r}: {said}expected SERVICE.FIELD (FIELD one of: "
            f"{_field_help('service')}), "
            f"{', '.join(k + ' NAME.FIELD' for k in NAMED)}, instances.FIELD, fargate.FIELD "
            "or variant.FIELD")
    return None


def _tokens(text: str) -> list[str]:
    """Operands and operators in order; operands are the text between operators."""
    out, pos = [], 0
    for m in _TOKENS.finditer(text):
        if m.group(1) is None:  # quoted text: an operand on its own
            if text[pos:m.start()].strip():
                raise ValueError(f"unexpected {text[pos:m.start()].strip()!r} before "
                                 f"{m.group(0)}")
            out.append(m.group(0))
        else:
            if text[pos:m.start()].strip():
                out.append(text[pos:m.start()])
            out.append(m.group(1))
        pos = m.end()
    if text[pos:].strip():
        out.append(text[pos:])
    return out


def parse(text: str) -> Claim:
    """A claim from its text; a ValueError says what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected a claim such as \"web.running == 4\"")
    items = _tokens(text.strip())
    ops = [i for i, t in enumerate(items) if t in COMPARISONS]
    if len(ops) != 1:
        raise ValueError(f"expected one comparison ({' '.join(COMPARISONS)}, with a space "
                         f"on each side), found {len(ops)}")
    at = ops[0]
    variant: list[str | None] = [None]

    def side(parts: list[str], lead: bool):
        if not parts:
            raise ValueError("a side of the comparison is empty")
        terms, ops_ = [], []
        for i, p in enumerate(parts):
            if (i % 2 == 1) != (p in ARITHMETIC):
                raise ValueError(f"unexpected {p.strip()!r}: operands and + - * / must "
                                 "alternate")
            if i % 2 == 1:
                ops_.append(p)
            else:
                term = _operand(p, variant[0], first=lead and i == 0)
                if isinstance(term, Ref):
                    variant[0] = term.variant
                terms.append(term)
        if len(parts) % 2 == 0:
            raise ValueError(f"{parts[-1]!r} needs a value after it")
        # * and / bind tighter than + and -
        stack, pending = [terms[0]], []
        for op, term in zip(ops_, terms[1:], strict=True):
            if op in "*/":
                stack[-1] = Arith(op, stack[-1], term)
            else:
                pending.append(op)
                stack.append(term)
        node = stack[0]
        for op, term in zip(pending, stack[1:], strict=True):
            node = Arith(op, node, term)
        for leaf in _leaves(node) if isinstance(node, Arith) else []:
            if leaf.type != NUM:
                raise ValueError(f"{leaf.text!r} is {leaf.type}; + - * / take numbers")
        return node

    left, right = side(items[:at], True), side(items[at + 1:], False)
    claim = Claim(text.strip(), items[at], left, right)
    if not claim.refs():
        raise ValueError("a claim needs at least one reference to the results, e.g. "
                         "web.running")
    _check_types(claim)
    return claim


def _leaves(node) -> Iterator[Ref | Lit]:
    if isinstance(node, Arith):
        yield from _leaves(node.left)
        yield from _leaves(node.right)
    else:
        yield node


def _check_types(c: Claim) -> None:
    lt, rt = c.left.type, c.right.type
    if c.op in ("contains", "lacks"):
        if lt not in (LIST, TEXT) or rt != TEXT:
            raise ValueError(f"{c.op} takes a list or text on the left and text on the "
                             f"right (got {lt} and {rt})")
    elif c.op in ("<", "<=", ">", ">="):
        if lt != NUM or rt != NUM:
            raise ValueError(f"{c.op} compares numbers (got {lt} and {rt})")
    elif "none" not in (lt, rt) and lt != rt:
        raise ValueError(f"{c.op} compares like with like (got {lt} and {rt})")


# ---------------------------------------------------------------- names, at load time

def _variant_names(variants) -> dict[str, str]:
    """Every name a claim may give a variant (full name, or the name without its
    override paths' prefix when unique) -> the variant's full name."""
    out = {v: v for v in variants}
    labels = [variant_label(v) for v in variants]
    for v, label in zip(variants, labels, strict=True):
        if labels.count(label) == 1:
            out.setdefault(label, v)
    return out


def _names(sc, target: str) -> set[str] | None:
    """Names ``target`` may take in scenario ``sc`` (None: any)."""
    if target == "service":
        return {s.name for s in sc.services}
    if target == "flow":
        return {f.name for f in sc.traffic}
    if target == "subnet":
        return {s.name for s in sc.vpc.subnets}
    if target == "az":
        return {s.az for s in sc.vpc.subnets}
    if target == "discovery":
        return {f"{s.name}.{s.service_discovery.namespace}" for s in sc.services
                if s.service_discovery}
    if target == "deployment":
        return {e.deploy for e in sc.events if e.deploy}
    if target == "devices":
        from .. import calibration

        return set(calibration.default_profile()) | {"vcpu_pool", "card_rx", "card_tx"}
    return None


def _overridden(source) -> bool:
    """Whether ``--set`` changed the scenario (and so perhaps its variants' names)."""
    return any(note.startswith("--set") for _, note in source.origins.values())


def check_claims(scenario, src, variants) -> None:
    """Check that every claim of ``scenario.expect`` names variants, services, flows,
    subnets and deployments that exist; raise :class:`ScenarioError` at the claim's
    line otherwise. Called by the loader once the ``variants`` are known, with the
    scenario's source ``src`` (its file and line map)."""
    if not scenario.expect:
        return
    if _overridden(src):
        return  # --set may rename variants or remove flows: such claims are not checked
    specs = {v.name: v for v in variants}
    names = _variant_names(list(specs))
    for i, text in enumerate(scenario.expect):
        problem = _name_problem(parse(text), specs, names)
        if problem:
            raise ScenarioError(problem, file=src.path, path=f"expect[{i}]",
                                line=line_of(src.lines, ("expect", i)))


def _name_problem(claim: Claim, specs: dict, names: dict[str, str]) -> str | None:
    for ref in claim.refs():
        if ref.variant is not None and ref.variant not in names:
            shown = ", ".join(sorted(names))
            return f"no variant named {ref.variant!r}; expected one of: {shown}"
        where = [specs[names[ref.variant]]] if ref.variant else list(specs.values())
        for spec in where:
            allowed = _names(spec.scenario, ref.target)
            m = re.fullmatch(r"(.+):\d+", ref.name) if ref.target == "deployment" else None
            if allowed is None or ref.name in allowed or (m and m.group(1) in allowed):
                continue
            what = {"service": "service", "flow": "flow", "subnet": "subnet",
                    "az": "Availability Zone", "discovery": "Cloud Map service",
                    "deployment": "deploy event for a service",
                    "devices": "device kind"}[ref.target]
            inside = f" in variant {spec.name!r}" if len(specs) > 1 else ""
            shown = sorted(allowed)
            return (f"{ref.text!r}: no {what} named {ref.name!r}{inside}; expected one of: "
                    f"{', '.join(shown) or '(none)'}")
    return None


# ---------------------------------------------------------------- evaluation

def _find(items, key: str, name: str) -> dict | None:
    return next((x for x in items or [] if isinstance(x, dict) and x.get(key) == name), None)


def _entity(ref: Ref, v: dict) -> Any:
    placement = v.get("placement") or {}
    if ref.target == "service":
        return _find(placement.get("services"), "name", ref.name)
    if ref.target == "flow":
        return _find(v.get("flows"), "name", ref.name)
    if ref.target == "deployment":
        m = re.fullmatch(r"(.+):(\d+)", ref.name)
        rows = [d for d in v.get("deployments") or [] if isinstance(d, dict)]
        if m and not any(d.get("service") == ref.name for d in rows):
            return next((d for d in rows if d.get("service") == m.group(1)
                         and d.get("revision") == int(m.group(2))), None)
        return _find(rows, "service", ref.name)
    if ref.target == "subnet":
        return _find(placement.get("subnets"), "name", ref.name)
    if ref.target == "discovery":
        return _find(placement.get("service_discovery"), "name", ref.name)
    if ref.target == "az":
        inst = [i for i in placement.get("instances") or [] if i.get("az") == ref.name]
        fargate = ((placement.get("fargate") or {}).get("by_az") or {}).get(ref.name, 0)
        return {"instances": len(inst), "tasks": sum(i.get("tasks", 0) for i in inst) + fargate}
    if ref.target == "devices":
        return [d for d in v.get("devices") or [] if d.get("kind") == ref.name]
    if ref.target == "instances":
        return placement.get("instances") or []
    if ref.target == "fargate":
        return placement.get("fargate") or {"tasks": 0, "enis": 0, "ips_used": 0,
                                            "by_az": {}}
    return v


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _ena_modelled(row: dict, v: dict) -> bool:
    """Whether the run modelled the ENA allowances of the instance of ``row``: its row has
    an ``ena`` block, or the variant carried traffic (every packet through an EC2
    instance's ENIs passes its allowances; an instance no packet crossed exceeded none).

    The ENA counters are written only when they counted (so that a run within the
    allowances gives the results it gave before they were modelled): in such a run an
    absent counter is a count of 0, not a missing value.

    >>> _ena_modelled({}, {"flows": [{"name": "f"}]}), _ena_modelled({}, {"flows": []})
    (True, False)
    """
    return isinstance(row.get("ena"), dict) or bool(v.get("flows"))


def _item_number(item: Any, head: str, v: dict) -> Any:
    """``head`` of one instance or device row of variant ``v``: an ENA counter the
    instance's row lacks reads 0 where the run modelled its allowances."""
    found = _get(item, head)
    if found is None and head.startswith("ena.") and isinstance(item, dict) and \
            _ena_modelled(item, v):
        return 0
    return found


def _value(ref: Ref, v: dict) -> Any:
    obj = _entity(ref, v)
    if obj is None:
        return None
    fields = FIELDS[ref.target]
    if isinstance(obj, list):  # instances, devices
        if ref.field == "count":
            return len(obj)
        if ref.field == "used":
            return sum(1 for i in obj if i.get("tasks"))
        if ref.field == "trunked":
            return sum(1 for i in obj if i.get("trunked"))
        head, _, agg = ref.field.rpartition(".")
        values = [x for x in (_item_number(i, head, v) for i in obj)
                  if isinstance(x, int | float)]
        return AGGREGATES[agg](values) if values else None
    if ref.field in fields and fields[ref.field] == COUNTS:
        counts = obj.get(ref.field) or {}
        return sum(counts.values())
    for name, kind in fields.items():
        if kind == COUNTS and ref.field.startswith(name + "."):
            return (obj.get(name) or {}).get(ref.field[len(name) + 1:], 0)
    if ref.target == "flow" and ref.field == "hops":
        return _get(obj, "hops.mean")
    if ref.target == "flow" and ref.field == "blocked":
        return bool(obj.get("blocked"))
    head, _, last = ref.field.rpartition(".")
    if last == "count" and fields.get(head) == LIST:
        items = _get(obj, head)
        return len(items) if isinstance(items, list) else None
    return _get(obj, ref.field)


def _calc(node, v: dict, variant_of: Callable[[Ref], dict]) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Ref):
        return _value(node, variant_of(node) if node.variant else v)
    a, b = _calc(node.left, v, variant_of), _calc(node.right, v, variant_of)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b)):
        return None
    if node.op == "/":
        return None if b == 0 else a / b
    return {"+": a + b, "-": a - b, "*": a * b}[node.op]


def _holds(op: str, a: Any, b: Any) -> bool:
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    if op in ("==", "!="):
        same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) if numbers else a == b
        return same if op == "==" else not same
    if op in ("contains", "lacks"):
        has = isinstance(a, list | str) and isinstance(b, str) and b in a
        return has if op == "contains" else not has
    if not numbers:
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def check(claims: list[str], doc: dict, lenient: bool = False) -> list[dict]:
    """Each claim against the results document: its text, whether it holds, and per
    variant it was checked in the values of its two sides. ``lenient`` (the scenario was
    changed with ``--set``): a claim naming a variant, flow, ... that the results lack is
    not checked (``pass`` null) instead of not holding."""
    variants = [v for v in doc.get("variants") or [] if isinstance(v, dict)]
    by_name = {v.get("name"): v for v in variants}
    names = _variant_names([n for n in by_name if isinstance(n, str)])
    out = []
    for text in claims:
        claim = parse(text)

        def variant_of(ref: Ref) -> dict:
            return by_name.get(names.get(ref.variant), {})

        every = any(r.variant is None for r in claim.refs()) and len(variants) != 1
        where = variants if every else variants[:1] if len(variants) == 1 else [{}]
        missing = _missing(claim, where, variant_of, names) if lenient else None
        if missing:
            out.append({"claim": text, "pass": None, "checks": [], "not_checked": missing})
            continue
        checks = []
        for v in where:
            left, right = _calc(claim.left, v, variant_of), _calc(claim.right, v, variant_of)
            checks.append({"variant": v.get("name") if every else None, "left": left,
                           "right": right, "pass": _holds(claim.op, left, right)})
        out.append({"claim": text, "pass": all(c["pass"] for c in checks), "checks": checks})
    return out


def _missing(claim: Claim, where: list[dict], variant_of, names: dict) -> str | None:
    """Why ``claim`` cannot be checked in these results: a variant, service, flow, subnet,
    deployment or Cloud Map service it names is not in them (the loader rejects such a
    claim in a file as written; ``--set`` may change the variants or remove a flow)."""
    for ref in claim.refs():
        if ref.variant is not None and ref.variant not in names:
            return f"no variant {ref.variant!r} in this run"
        if ref.target not in ("service", "flow", "deployment", "subnet", "discovery"):
            continue
        for v in [variant_of(ref)] if ref.variant else where:
            if _entity(ref, v) is None:
                return f"no {ref.target} {ref.name!r} in variant {v.get('name')!r}"
    return None


def header(path: str | Path | None) -> dict[str, str]:
    """The sections of a scenario file's header comment (``Question``, ``Expected``,
    ``Source``, ...), each joined into one paragraph; empty when there is none."""
    if not path:
        return {}
    try:
        text = question(path)
    except InputError:
        return {}
    out: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        m = re.match(r"([A-Z][a-z]+):\s*(.*)", line)
        if m and m.group(1) in ("Question", "Expected", "Source", "Note", "See"):
            key = m.group(1)
            out.setdefault(key, []).append(m.group(2))
        elif key:
            out[key].append(line)
    return {k: " ".join(p for p in parts if p) for k, parts in out.items()}


def evaluate(scenario, src, doc: dict) -> dict | None:
    """The ``expectations`` block of results.json: the scenario's question and expected
    result as its header says them (``src``: the scenario's source, see
    :func:`ecsnetsim.scenario.source_of`), each claim with its values, and whether all
    hold (``agrees`` null without claims). None when the scenario has neither."""
    head = header(src.path)
    claims = list(scenario.expect or [])
    if not claims and not head:
        return None
    checked = check(claims, doc, lenient=_overridden(src))
    held = [c["pass"] for c in checked if c["pass"] is not None]
    return {"question": head.get("Question"), "expected": head.get("Expected"),
            "agrees": all(held) if held else None, "claims": checked}


def show(value: Any) -> str:
    """A value as a claim writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value[:8])) + (", ..." if len(value) > 8 else "") + "]"
    return str(value)


def failure(claim: dict) -> str:
    """Why a claim does not hold: ``<claim>: got <value>`` (both sides' values when the
    right one is not a literal; the variant when it was checked in every variant)."""
    try:
        literal = isinstance(parse(claim["claim"]).right, Lit)
    except ValueError:
        literal = False
    got = []
    for c in claim.get("checks") or []:
        if not isinstance(c, dict) or c.get("pass"):
            continue
        value = show(c.get("left")) if literal else \
            f"{show(c.get('left'))} vs {show(c.get('right'))}"
        got.append(f"{variant_label(str(c['variant']))}: {value}" if c.get("variant")
                   else value)
    return f"{claim['claim']}: got {'; '.join(got)}"


def well_formed(block: Any) -> bool:
    """Whether ``block`` reads as an ``expectations`` block (results.json is user input)."""
    return isinstance(block, dict) and isinstance(block.get("claims"), list) and all(
        isinstance(c, dict) and isinstance(c.get("claim"), str) and
        isinstance(c.get("pass"), bool | None) and isinstance(c.get("checks", []), list)
        for c in block["claims"])


def verdict(doc: dict) -> list[str]:
    """The summary's ``expected:`` lines: ``agrees (N claims)``, or ``DISAGREES`` with one
    line per claim that does not hold; none when the results carry no expectations."""
    block = doc.get("expectations")
    if not well_formed(block):
        return []
    skipped = [c for c in block["claims"] if c["pass"] is None]
    claims = [c for c in block["claims"] if c["pass"] is not None]
    note = (f"; {len(skipped)} not checked: {skipped[0].get('not_checked') or 'names missing'}"
            + (" ..." if len(skipped) > 1 else "")) if skipped else ""
    if not claims:
        if skipped:
            return [f"expected: not checked ({note[2:]})"]
        return (["expected: not checked (the scenario has no expect: claims)"]
                if block.get("expected") else [])
    failed = [c for c in claims if not c["pass"]]
    if not failed:
        return [f"expected: agrees ({len(claims)} claim{'s' if len(claims) != 1 else ''}"
                f"{note})"]
    lines = [f"expected: DISAGREES — {failure(c)}" for c in failed[:1]]
    lines += [f"          DISAGREES — {failure(c)}" for c in failed[1:]]
    if len(claims) > 1 or skipped:
        lines.append(f"          ({len(failed)} of {len(claims)} claims do not hold{note})")
    return lines
