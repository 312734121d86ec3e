"""The numbers of the latency-against-load figure, worked out from a results document
without matplotlib (the figure module, :mod:`.load`, only draws them).

Examples
--------
>>> def point(rate, mean):
...     return {"name": f"bridge rate={rate}", "group": "bridge",
...             "sweep": {"value": str(rate), "number": rate, "path": "traffic[0].rate"},
...             "placement": {"services": [{"name": "b", "network_mode": "bridge"}]},
...             "flows": [{"name": "f", "from": "a", "to": "b", "via": "direct", "sent": 10,
...                        "dropped": 0, "latency_us": {"mean": mean, "p99": 2 * mean}}]}
>>> data = latency_against_load({"variants": [point(100, 5.0), point(1000, 9.0)]})
>>> data.numbers, data.panels[0].lines[0].mean, data.modes
([100, 1000], [(100, 5.0), (1000, 9.0)], {'bridge': 'bridge'})
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .data import _flow, _flow_names, _flow_title, _flow_to, _groups, _mode, _short


@dataclass
class LoadLine:
    """One compare variant's points along the sweep for one flow: mean and p99 latency
    (µs, where packets were delivered) and the share of packets dropped (%)."""

    group: str
    mean: list[tuple[float, float]]
    p99: list[tuple[float, float]]
    dropped: list[tuple[float, float]]


@dataclass
class LoadPanel:
    flow: str
    title: str
    lines: list[LoadLine]

    @property
    def values(self) -> list[float]:
        """Every latency drawn, to choose the axis scale."""
        return [y for line in self.lines for _, y in line.mean + line.p99]


@dataclass
class LatencyAgainstLoad:
    #: the swept values, in order
    numbers: list[float]
    panels: list[LoadPanel]
    #: each compare variant's network mode (its colour)
    modes: dict[str, str]
    #: whether some packet was dropped (a second row of panels)
    dropped: bool
    axis_label: str
    #: compare variants with no packet delivered
    unreachable: list[str] = field(default_factory=list)

    def drawn(self) -> list[str]:
        """The compare variants with a latency line, in the order the panels meet them."""
        order: list[str] = []
        for line in (line for p in self.panels for line in p.lines if line.mean):
            if line.group not in order:
                order.append(line.group)
        return order

    def twin(self, group: str) -> str:
        """The first drawn compare variant whose latency lines are the same as
        ``group``'s (``group`` itself when no other is)."""
        series = self._series(group)
        return next(g for g in self.drawn() if self._series(g) == series)

    def _series(self, group: str) -> list:
        return [(p.flow, line.mean, line.p99) for p in self.panels for line in p.lines
                if line.group == group and line.mean]


def latency_against_load(doc: dict) -> LatencyAgainstLoad | None:
    """The figure's lines, or None without a sweep over a number with two or more points
    and a flow."""
    from .data import _sweep_axis_label

    variants = [v for v in doc["variants"] if v.get("sweep") and
                v["sweep"].get("number") is not None]
    numbers = sorted({v["sweep"]["number"] for v in variants})
    flows = _flow_names(variants)
    if len(numbers) < 2 or not flows:
        return None
    groups = _groups(variants)
    unreachable: list[str] = []
    panels = []
    for name in flows:
        lines = []
        for group, vs in groups.items():
            pts = sorted(((v["sweep"]["number"], _flow(v, name)) for v in vs
                          if _flow(v, name)), key=lambda p: p[0])
            if not pts:
                continue
            mean = [(x, f["latency_us"]["mean"]) for x, f in pts
                    if f["latency_us"]["mean"] is not None]
            p99 = [(x, f["latency_us"]["p99"]) for x, f in pts
                   if f["latency_us"]["p99"] is not None]
            if not mean and _short(group) not in unreachable:
                unreachable.append(_short(group))
            share = [(x, 100.0 * f["dropped"] / f["sent"] if f["sent"] else 0.0)
                     for x, f in pts]
            lines.append(LoadLine(group, mean, p99, share))
        panels.append(LoadPanel(name, _flow_title(variants, name), lines))
    return LatencyAgainstLoad(
        numbers, panels, {g: _mode(vs[0], _flow_to(vs[0], flows)) for g, vs in groups.items()},
        any(f["dropped"] for v in variants for f in v.get("flows", [])),
        _sweep_axis_label(variants), unreachable)
