"""The numbers of the path figures (hops, packet fate, busiest devices), worked out from a
results document without matplotlib, so that what a figure shows is testable without
drawing it; the figure modules only draw these.

Examples
--------
>>> v = {"name": "bridge", "flows": [{"name": "f", "from": "a", "to": "b", "via": "direct",
...      "path": ["veth", "docker0", "eni", "eni"], "sent": 10, "delivered": 10,
...      "unreachable": 0}]}
>>> [(b.label, b.counts, b.total) for b in hops({"variants": [v]}).panels[0].bars]
[('bridge', {'veth': 1, 'docker0': 1, 'eni': 2}, 4)]
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass

from .data import _collapse, _flow, _flow_names, _flow_panels, _label, _one_line, _pool

# ---- hops ------------------------------------------------------------------------------


@dataclass
class HopBar:
    """One variant's typical path for a flow: devices of each kind, in path order."""

    label: str
    counts: dict[str, int]
    #: why there is no path, when there is none
    note: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class HopPanel:
    title: str
    bars: list[HopBar]


@dataclass
class Hops:
    """One panel per flow (or one for every flow of a single variant)."""

    panels: list[HopPanel]
    #: every device kind on some path
    kinds: set[str]


def hops(doc: dict) -> Hops | None:
    """The hops figure's bars, or None when no flow has a path (no traffic)."""
    variants = doc["variants"]
    flows = _flow_names(variants)
    if not flows:
        return None
    cats_per_flow = []
    for name in flows:
        def path_of(v, name=name):
            f = _flow(v, name)
            return tuple(f["path"]) if f else None
        cats_per_flow.append([(lab, v) for lab, v in _collapse(variants, path_of)
                              if _flow(v, name) is not None])
    panels = []
    for title, cats in _flow_panels(variants, flows, cats_per_flow):
        bars = []
        for label, v, name in cats:
            f = _flow(v, name)
            counts = dict(Counter(f["path"]))
            note = "" if counts else ("unreachable" if f["unreachable"] else "no route")
            bars.append(HopBar(label, counts, note))
        panels.append(HopPanel(title, bars))
    kinds = {k for v in variants for f in v.get("flows", []) for k in f["path"]}
    return Hops(panels, kinds)


# ---- where packets stop ----------------------------------------------------------------

#: What becomes of a packet sent, in the order the bars stack them.
FATES = ("delivered", "dropped", "unreachable", "in_flight")


@dataclass
class FateBar:
    """One flow of one variant: the share of its packets sent per fate."""

    label: str
    shares: dict[str, float]
    #: where and why packets stopped, wrapped for the side of the bar
    reason: str


@dataclass
class Fate:
    bars: list[FateBar]
    #: the fates some bar has
    used: list[str]


def _short_reason(blocked: dict | None, width: int = 64, lines: int = 3) -> str:
    """Why packets stopped, wrapped beside a bar (the device id is in results.json)."""
    if not blocked:
        return ""
    wrapped = textwrap.wrap(blocked["reason"], width)
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][:width - 1] + "\u2026"
    return "\n".join(wrapped)


def _drop_reasons(drops: dict | None, width: int = 64, lines: int = 3) -> str:
    """The limits that dropped packets, by the names Linux and AWS give them (a full
    conntrack table, ErrorPortAllocation, an ENA allowance), beside a bar."""
    named = [textwrap.shorten(f"dropped: {k} \u00d7{n:,}", width) for k, n in (drops or {}).items()
             if n]
    return "\n".join(named[:lines])


def packet_fate(doc: dict) -> Fate | None:
    """The packet-fate figure's bars, or None when every packet of every flow could
    arrive."""
    variants = doc["variants"]
    flows = _flow_names(variants)
    if not any(f.get("unreachable") or f.get("blocked") or f.get("drops") for v in variants
               for f in v.get("flows", [])):
        return None
    bars = []
    for name, v in ((name, v) for name in flows for v in variants if _flow(v, name)):
        f = _flow(v, name)
        sent = max(1, f["sent"])
        label = _label(v).replace("\n", " ")
        bars.append(FateBar(f"{name} \u00b7 {label}" if len(flows) > 1 else label,
                            {key: (f.get(key) or 0) / sent for key in FATES},
                            _short_reason(f.get("blocked")) or _drop_reasons(f.get("drops"))))
    return Fate(bars, [k for k in FATES if any(b.shares[k] for b in bars)])


# ---- the busiest devices ---------------------------------------------------------------


@dataclass
class DevicePanel:
    """A variant's busiest devices, busiest first, and the packets it dropped in all."""

    title: str
    devices: list[dict]
    drops: int


@dataclass
class Busiest:
    panels: list[DevicePanel]
    #: whether only the busiest of several variants is shown
    busiest_only: bool

    @property
    def kinds(self) -> set[str]:
        return {d["kind"] for p in self.panels for d in p.devices}


def _duplicate(pool: dict, devices: list[dict]) -> bool:
    """Whether a shared resource only repeats one device of its host (a card link that
    one ENI alone uses): the same packets, busy time and drops."""
    return any(not _pool(d["kind"]) and d.get("host") == pool.get("host")
               and d["packets"] == pool["packets"] and d["drops"] == pool["drops"]
               and abs(d["utilization"] - pool["utilization"]) < 1e-9 for d in devices)


def _ranked(devices: list[dict]) -> list[dict]:
    """Devices and shared resources, busiest first; a shared resource that repeats a
    single device is left out, every other one competes for a bar like any device."""
    shown = [d for d in devices if not (_pool(d["kind"]) and _duplicate(d, devices))]
    return sorted(shown, key=lambda d: (-d["utilization"], -d["drops"], d["id"]))


def _drops(v: dict) -> int:
    """Packets a variant's devices dropped; a shared resource's drops are those of the
    devices that use it, so they are not counted again."""
    return sum(d["drops"] for d in v["devices"] if not _pool(d["kind"]))


def busiest_devices(doc: dict, top: int = 12) -> Busiest | None:
    """The busiest-devices figure's panels: one per variant when there are at most four
    variants with traffic and no sweep, else the busiest variant only (most drops, then
    highest utilization); None when no variant carried traffic."""
    variants = [v for v in doc["variants"] if v.get("devices")]
    if not variants:
        return None
    swept = any(v.get("sweep") for v in doc["variants"])
    if len(variants) > 4 or swept:
        variants = [max(variants, key=lambda v: (_drops(v),
                                                 max(d["utilization"] for d in v["devices"])))]
        top_n = top
    else:
        top_n = top if len(variants) == 1 else max(4, top // 2)
    panels = []
    for v in variants:
        drops = _drops(v)
        panels.append(DevicePanel(f"variant {_one_line(_label(v))}"
                                  + (f" \u2014 {drops:,} packets dropped in all" if drops
                                     else ""), _ranked(v["devices"])[:top_n], drops))
    return Busiest(panels, len(panels) == 1 and len(doc["variants"]) > 1)


# ---- what each device kind adds against the baseline ------------------------------------


@dataclass
class OverheadBar:
    """One variant of a flow against the baseline: the latency each device kind adds
    (µs, one way; only differences above the figures' resolution), the net change of the
    mean latency and the extra hops; no net when no packet was delivered."""

    label: str
    by_kind: dict[str, float]
    net: float | None
    extra_hops: float | None
    delivered: bool


@dataclass
class OverheadPanel:
    flow: str
    bars: list[OverheadBar]


@dataclass
class Overhead:
    baseline: str
    panels: list[OverheadPanel]
    #: device kinds some bar has
    kinds: set[str]


def overhead(doc: dict) -> Overhead | None:
    """The overhead figure's bars (one panel per flow), or None when no variant differs
    from the baseline by more than :data:`.data.RESOLUTION_US`."""
    from .data import RESOLUTION_US, _short
    from .figdata import overhead_rows

    rows = overhead_rows(doc)
    if not rows:
        return None
    by_name = {v["name"]: v for v in doc["variants"]}
    panels = []
    for flow in dict.fromkeys(r["name"] for r in rows):
        bars = []
        for r in (r for r in rows if r["name"] == flow):
            v = by_name.get(r["variant"])
            shown = {k: d for k, d in (r.get("overhead_by_kind_us") or {}).items()
                     if abs(d) >= RESOLUTION_US}
            bars.append(OverheadBar(_label(v) if v else _short(r["variant"]), shown,
                                    (r.get("latency_overhead_us") or {}).get("mean"),
                                    r.get("extra_hops"), bool(r.get("latency_overhead_us"))))
        panels.append(OverheadPanel(flow, bars))
    kinds = {k for p in panels for b in p.bars for k in b.by_kind}
    return Overhead((doc.get("comparison") or {}).get("baseline", ""), panels, kinds)
