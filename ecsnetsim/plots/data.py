"""What the figures read from a results document, prepared once: variant labels and
groups, sweep points collapsed where they show the same thing, flows, network modes.

Nothing here imports matplotlib; every function takes plain dicts as in ``results.json``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..rows import HasDocument

Source = HasDocument | dict

#: Differences of simulated latency smaller than this are rounding, not a device's cost:
#: no bar is drawn for them (µs).
RESOLUTION_US = 0.01


def _doc(res: Source) -> dict:
    """The results document of ``res`` (a :class:`Results` or the dict itself)."""
    if isinstance(res, dict) and "variants" in res:
        return res
    doc = getattr(res, "document", None)
    if isinstance(doc, dict):
        return doc
    raise TypeError(f"expected Results or a results.json document, got {type(res).__name__}")


# ---- names ---------------------------------------------------------------------------------

def _short(name: str) -> str:
    """A variant name as the figures show it: the last part of an overridden path.

    >>> _short("account.awsvpc_trunking=true")
    'awsvpc_trunking=true'
    >>> _short("bridge")
    'bridge'
    """
    if "=" in name:
        left, right = name.split("=", 1)
        return f"{left.rsplit('.', 1)[-1]}={right}"
    return name


def _label(v: dict) -> str:
    """A variant's label: its short name, or group and sweep value on two lines.

    >>> _label({"name": "bridge rate=2000/s", "group": "bridge",
    ...         "sweep": {"value": "2000/s"}})
    'bridge\\n2000/s'
    """
    sweep = v.get("sweep")
    if sweep:
        return f"{_short(v['group'])}\n{sweep['value']}"
    return _short(v["name"])


def _one_line(label: str) -> str:
    return label.replace("\n", " ")


def _short_id(instance_id: str, width: int = 4) -> str:
    """An instance id as a tick label: its last ``width`` characters.

    >>> _short_id("i-0153df9e1c9b1099a")
    '…099a'
    """
    return "\u2026" + instance_id[-width:] if len(instance_id) > width + 1 else instance_id


# ---- variants ------------------------------------------------------------------------------

def _groups(variants: list[dict]) -> dict[str, list[dict]]:
    """Variants by compare group (a sweep runs each group at several points)."""
    out: dict[str, list[dict]] = {}
    for v in variants:
        out.setdefault(v.get("group", v["name"]), []).append(v)
    return out


def _collapse(variants: list[dict], key: Callable[[dict], Any]) -> list[tuple[str, dict]]:
    """(label, variant) per variant; a group whose ``key`` is the same at every sweep
    point shows once, labelled by the group.

    >>> vs = [{"name": f"a r={r}", "group": "a", "sweep": {"value": r}} for r in (1, 2)]
    >>> [lab for lab, _ in _collapse(vs, key=lambda v: 0)]
    ['a']
    """
    out = []
    for group, vs in _groups(variants).items():
        keys = [key(v) for v in vs]
        if len(vs) > 1 and all(k == keys[0] for k in keys):
            out.append((_short(group), vs[0]))
        else:
            out.extend((_label(v), v) for v in vs)
    return out


def _mode(v: dict, service: str | None = None) -> str:
    """The network mode of a variant (of ``service``, or of its first service)."""
    services = v["placement"]["services"]
    svc = next((s for s in services if s["name"] == service), services[0] if services else None)
    return "no service" if svc is None else svc["network_mode"]


# ---- flows ---------------------------------------------------------------------------------

def _flow_names(variants: list[dict]) -> list[str]:
    return list(dict.fromkeys(f["name"] for v in variants for f in v.get("flows", [])))


def _flow(v: dict, name: str) -> dict | None:
    return next((f for f in v.get("flows", []) if f["name"] == name), None)


def _flow_title(variants: list[dict], name: str) -> str:
    f = next(f for v in variants for f in v.get("flows", []) if f["name"] == name)
    return f"flow {name}: {f['from']} \u2192 {f['to']} via {f['via']}"


def _flow_to(v: dict, flows: list[str]) -> str | None:
    f = next((_flow(v, n) for n in flows if _flow(v, n)), None)
    return f["to"] if f else None


def _flow_panels(variants: list[dict], flows: list[str],
                 cats_per_flow: list[list[tuple[str, dict]]]) -> list[tuple[str, list]]:
    """(panel title, [(label, variant, flow name)]): one panel per flow; a single variant
    with several flows gets one panel with the flows side by side."""
    if len(flows) > 1 and all(len(c) == 1 for c in cats_per_flow):
        lab, v = cats_per_flow[0][0]
        cats = []
        for name in flows:
            f = _flow(v, name)
            cats.append((f"{name}\n{f['from']} \u2192 {f['to']}", v, name))
        return [(f"every flow, variant {_one_line(lab)}", cats)]
    return [(_flow_title(variants, name), [(lab, v, name) for lab, v in cats])
            for name, cats in zip(flows, cats_per_flow, strict=True)]


# ---- devices -------------------------------------------------------------------------------

def _pool(kind: str) -> bool:
    """A shared resource (vCPU pool, card link) rather than a device on the path.

    >>> _pool("vcpu_pool"), _pool("card_rx"), _pool("docker0")
    (True, True, False)
    """
    return kind.endswith("_pool") or kind.startswith("card_")


def _sweep_axis_label(variants: list[dict]) -> str:
    sweep = next(v["sweep"] for v in variants if v.get("sweep"))
    path = sweep["path"]
    value = str(sweep["value"])
    if value.endswith("/s") or path.endswith("rate"):
        return f"{path} (packets/s)"
    return path


# ---- timelines ------------------------------------------------------------------------------

def _settled(r: dict) -> bool:
    """All wanted tasks running and healthy, none of an older revision."""
    return r["pending"] == 0 and r["healthy"] >= r["running_new"] and not r["running_old"]


def _cluster_marks(v: dict) -> list[tuple[float, str]]:
    """(time, label) of the instance events of a variant (those with a ``kind``: drains,
    terminations, managed scaling's launches and arrivals); same-time events of a kind
    are added up."""
    counts: Counter = Counter()
    for e in v["placement"].get("events") or []:
        if e.get("kind"):
            counts[(float(e["t"]), e["kind"])] += e.get("instances", 1)
    return [(t, f"{kind} {n}") for (t, kind), n in sorted(counts.items())]


def _changes(rows: list[dict]) -> list[float]:
    """Times at which a service's counts change after it first settled; every time when
    it never did."""
    settled_at = next((r["t"] for r in rows if _settled(r)), None)
    if settled_at is None:
        return [float(r["t"]) for r in rows]
    return [float(r["t"]) for r in rows if r["t"] > settled_at]


def _stops(rows: list[dict]) -> int:
    """How many times running tasks fall (tasks stopped, to be replaced)."""
    running = [r["running_old"] + r["running_new"] for r in rows]
    return sum(1 for a, b in zip(running, running[1:], strict=False) if b < a)


def _stopped(rows: list[dict]) -> bool:
    return _stops(rows) > 0


def eventful(v: dict) -> bool:
    """Whether a variant's timeline shows more than tasks starting once: a deployment, an
    instance event, tasks stopping, or a service whose counts change after it first
    settled."""
    if v.get("deployments") or _cluster_marks(v):
        return True
    by_service: dict[str, list[dict]] = {}
    for r in v.get("timeline") or []:
        by_service.setdefault(r["service"], []).append(r)
    for rows in by_service.values():
        settled_at = next((r["t"] for r in rows if _settled(r)), None)
        if _stopped(rows) or (settled_at is not None and any(r["t"] > settled_at
                                                             for r in rows)):
            return True
    return False
