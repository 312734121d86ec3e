"""Comparison figures drawn from a run's results alone.

Every figure function takes a :class:`~ecsnetsim.results.Results` (or its
``results.json`` document as a dict) and returns a :class:`matplotlib.figure.Figure`,
or ``None`` when the results hold nothing for that figure (no traffic, no sweep, no
timeline, ...):

==========================  ==============================================================
``hops_by_mode``            devices a packet crosses, one stacked bar per variant
``latency_by_mode``         one-way latency p50/p90/p99 per variant, mean marked
``overhead_by_device``      latency each device kind adds against the baseline variant
``overhead_vs_load``        mean and p99 latency (and drops) against the swept value
``tasks_per_instance``      running tasks per instance, with the awsvpc task limit
``placement_outcome``       running tasks and tasks not running, by failure reason
``device_utilization``      the busiest devices: utilization, with drops annotated
``deployment_timeline``     old, new, healthy and pending tasks over simulated time
==========================  ==============================================================

``compare_modes(res)`` is the network-mode comparison (hops, or latency, or overhead by
device). ``write_all`` writes every applicable figure as ``<name>.png`` and
``<name>.svg`` (``save`` writes one figure); the same results give byte-identical files.
Figures are drawn on the Agg canvas without pyplot, so they need no screen and leave
pyplot's state alone; in a notebook the returned figure displays as usual.

One style throughout: :data:`STYLE` (matplotlib rc settings), a fixed colour per network
mode (:data:`MODE_COLORS`), per device kind (:data:`KIND_COLORS`) and per placement
failure reason (:data:`REASON_COLORS`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import __version__
from . import modes as _modes
from .results import Results

__all__ = [
    "FIGURES", "KIND_COLORS", "MODE_COLORS", "REASON_COLORS", "STYLE", "compare_modes",
    "deployment_timeline", "device_utilization", "hops_by_mode", "latency_by_mode",
    "overhead_by_device", "overhead_vs_load", "packet_fate", "placement_outcome", "save",
    "tasks_per_instance", "write_all",
]

#: matplotlib rc settings every figure is drawn and saved with.
STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "hatch.linewidth": 0.6,
    # byte-identical SVG for the same results: fixed ids, text kept as text
    "svg.hashsalt": "ecsnetsim",
    "svg.fonttype": "none",
}

#: One colour per network mode, as each mode declares it (``ecsnetsim.modes``).
MODE_COLORS: dict[str, str] = {name: m.colour for name, m in _modes.MODES.items()}
_OTHER_COLOR = "#76b7b2"

#: One colour per device kind, in the order a packet usually meets them.
KIND_COLORS: dict[str, str] = {
    "host_stack": "#1f77b4",
    "eni": "#17becf",
    "vpc_fabric": "#c7c7c7",
    "vpc_fabric_cross_az": "#7f7f7f",
    "alb": "#9467bd",
    "nlb": "#c5b0d5",
    "trunk_eni": "#ff7f0e",
    "vlan_branch": "#ffbb78",
    "iptables_nat": "#d62728",
    "host_forward": "#ff9896",
    "docker0": "#2ca02c",
    "veth": "#98df8a",
    "docker_proxy": "#bcbd22",
    "nic_hairpin": "#8c564b",
    "loopback": "#e377c2",
    "task_stack": "#aec7e8",
    # shared resources behind the devices: an instance's vCPUs, its card per direction
    "vcpu_pool": "#7b4173",
    "card_rx": "#525252",
    "card_tx": "#969696",
}
_SPARE_KIND_COLORS = ["#dbdb8d", "#9edae5", "#c49c94", "#f7b6d2", "#393b79", "#637939"]

#: One colour per placement failure reason (the reasons ECS reports).
REASON_COLORS: dict[str, str] = {
    "RESOURCE:ENI": "#e15759",
    "RESOURCE:PORTS": "#ff9d9a",
    "RESOURCE:IP": "#9c2a2a",
    "InsufficientFreeAddressesInSubnet": "#9c2a2a",
    "RESOURCE:CPU": "#f1ce63",
    "RESOURCE:MEMORY": "#d4a6c8",
    "ATTRIBUTE": "#86bcb6",
    "AGENT": "#8cd17d",
}
_SPARE_REASON_COLORS = ["#d37295", "#fabfd2", "#b6992d", "#79706e"]
_PENDING_COLOR = "#e6e6e6"

#: Timeline task states, stacked from the bottom (every task is in exactly one of them):
#: the style of each area and its legend label.
_AREAS = {
    "running_old": {"facecolor": "#9fbad6", "label": "running, older revision"},
    "running_new": {"facecolor": "#f28e2b", "label": "running, current revision"},
    "draining": {"facecolor": "#b07aa1", "label": "draining (deregistration delay)"},
    "pending": {"facecolor": "white", "hatch": "xx", "edgecolor": "#9a9a9a",
                "label": "wanted, not running yet (pending)"},
}
_HEALTHY = {"color": "#222222", "linestyle": "--", "linewidth": 1.4}

#: Latency percentiles and their markers (a line joins p50 to p99).
_PERCENTILE_MARKERS = (("p50", "o"), ("p90", "s"), ("p99", "^"))

#: Differences of simulated latency smaller than this are rounding, not a device's cost:
#: no bar is drawn for them (µs).
RESOLUTION_US = 0.01
_LOG_RATIO = 20.0  # use a log scale when the largest value is this many times the smallest


# ---- plumbing ------------------------------------------------------------------------------

Source = Results | dict


def _doc(res: Source) -> dict:
    if isinstance(res, Results):
        return res.document
    if isinstance(res, dict) and "variants" in res:
        return res
    raise TypeError(f"expected Results or a results.json document, got {type(res).__name__}")


def _styled(fn: Callable[..., Figure | None]) -> Callable[..., Figure | None]:
    """Draw inside the module's rc context."""

    @functools.wraps(fn)
    def wrapper(res: Source, *args, **kwargs) -> Figure | None:
        doc = _doc(res)
        with mpl.rc_context(STYLE):
            fig = fn(doc, *args, **kwargs)
            if fig is not None:
                _fit(fig)
        return fig

    return wrapper


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kw):
    fig = Figure(figsize=(width, height),
                 layout=ConstrainedLayoutEngine(w_pad=0.15, h_pad=0.08))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, [ax for row in axes for ax in row]


def _title(fig: Figure, text: str) -> None:
    fig.suptitle(text, x=0.01, ha="left")


def _fit(fig: Figure) -> None:
    """Lay the figure out, then fix what only a drawn figure shows: titles running into
    the legend (the figure widens) and x tick labels running into each other (they
    turn)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for _ in range(3):
        if not fig.legends:
            break
        boxes = [leg.get_window_extent(renderer) for leg in fig.legends]
        left, top = min(b.x0 for b in boxes), max(b.y1 for b in boxes)
        title = getattr(fig, "_suptitle", None)
        parts = [ax.get_tightbbox(renderer) for ax in fig.axes]
        if title is not None:
            parts.append(title.get_window_extent(renderer))
        over = max((p.x1 + 12 - left for p in parts if p is not None and p.y0 < top),
                   default=0)
        if over <= 1:
            break
        fig.set_figwidth(fig.get_figwidth() + over / fig.dpi)
        fig.canvas.draw()
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        if any(a.x1 + 4 > b.x0 for a, b in zip(boxes, boxes[1:], strict=False)):
            for t in labels:
                t.set_rotation(30)
                t.set_horizontalalignment("right")
                t.set_rotation_mode("anchor")


def _legend(fig: Figure, handles: list, title: str | None = None) -> None:
    """A legend outside the axes, on the right, so it never covers data."""
    if handles:
        fig.legend(handles=handles, loc="outside right upper", title=title,
                   alignment="left")


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _short(name: str) -> str:
    """``account.awsvpc_trunking=true`` -> ``awsvpc_trunking=true``."""
    if "=" in name:
        left, right = name.split("=", 1)
        return f"{left.rsplit('.', 1)[-1]}={right}"
    return name


def _label(v: dict) -> str:
    sweep = v.get("sweep")
    if sweep:
        return f"{_short(v['group'])}\n{sweep['value']}"
    return _short(v["name"])


def _groups(variants: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for v in variants:
        out.setdefault(v.get("group", v["name"]), []).append(v)
    return out


def _collapse(variants: list[dict], key: Callable[[dict], Any]) -> list[tuple[str, dict]]:
    """(label, variant) per variant; a group whose ``key`` is the same at every sweep
    point shows once, labelled by the group."""
    out = []
    for group, vs in _groups(variants).items():
        keys = [key(v) for v in vs]
        if len(vs) > 1 and all(k == keys[0] for k in keys):
            out.append((_short(group), vs[0]))
        else:
            out.extend((_label(v), v) for v in vs)
    return out


def _kind_color(kind: str, seen: list[str] | None = None) -> str:
    if kind in KIND_COLORS:
        return KIND_COLORS[kind]
    spare = sorted(k for k in (seen or [kind]) if k not in KIND_COLORS)
    i = spare.index(kind) if kind in spare else 0
    return _SPARE_KIND_COLORS[i % len(_SPARE_KIND_COLORS)]


def _pool(kind: str) -> bool:
    """A shared resource (vCPU pool, card link) rather than a device on the path."""
    return kind.endswith("_pool") or kind.startswith("card_")


def _kind_order(kinds) -> list[str]:
    known = [k for k in KIND_COLORS if k in kinds]
    return known + sorted(k for k in kinds if k not in KIND_COLORS)


def _reason_color(reason: str, seen: list[str]) -> str:
    if reason in REASON_COLORS:
        return REASON_COLORS[reason]
    spare = sorted(r for r in seen if r not in REASON_COLORS)
    return _SPARE_REASON_COLORS[spare.index(reason) % len(_SPARE_REASON_COLORS)]


def _mode(v: dict, service: str | None = None) -> str:
    """The network mode of a variant (of ``service``, or of its first service)."""
    services = v["placement"]["services"]
    svc = next((s for s in services if s["name"] == service), services[0] if services else None)
    return "no service" if svc is None else svc["network_mode"]


def _mode_color(mode: str) -> str:
    return MODE_COLORS.get(mode, _OTHER_COLOR)


def _mode_label(mode: str) -> str:
    known = _modes.MODES.get(mode)
    return known.label if known else mode


def _mode_handles(modes, label: str = "{}") -> list:
    """Legend patches of the network modes in ``modes``, known ones first."""
    return [Patch(facecolor=_mode_color(m), label=label.format(_mode_label(m)))
            for m in [*(m for m in MODE_COLORS if m in modes),
                      *sorted(set(modes) - set(MODE_COLORS))]]


def _flow_names(variants: list[dict]) -> list[str]:
    return list(dict.fromkeys(f["name"] for v in variants for f in v.get("flows", [])))


def _flow(v: dict, name: str) -> dict | None:
    return next((f for f in v.get("flows", []) if f["name"] == name), None)


def _flow_title(variants: list[dict], name: str) -> str:
    f = next(f for v in variants for f in v.get("flows", []) if f["name"] == name)
    return f"flow {name}: {f['from']} \u2192 {f['to']} via {f['via']}"


def _categories(ax, labels: list[str]) -> None:
    ax.set_xticks(range(len(labels)), labels)
    pad = 0.6 + max(0, 3 - len(labels)) / 2  # a lone bar stays bar-sized
    ax.set_xlim(-pad, len(labels) - 1 + pad)
    ax.grid(False, axis="x")


def _cat_width(n: int, per: float = 0.75, lo: float = 6.5, hi: float = 15.0) -> float:
    return min(hi, max(lo, 3.5 + per * n))


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _wide(values) -> bool:
    vals = [x for x in values if x is not None and x > 0]
    return bool(vals) and max(vals) / min(vals) > _LOG_RATIO


def _note(ax, x: float, text: str, y: float = 0.02) -> None:
    """Grey upright text at category ``x`` standing on the axis (for missing bars)."""
    ax.text(x, y, text, transform=ax.get_xaxis_transform(), rotation=90, ha="center",
            va="bottom", fontsize=7, color="#777777")


# ---- 1. hops -------------------------------------------------------------------------------

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
        return [(f"every flow, variant {lab.replace(chr(10), ' ')}", cats)]
    return [(_flow_title(variants, name), [(lab, v, name) for lab, v in cats])
            for name, cats in zip(flows, cats_per_flow, strict=True)]


@_styled
def hops_by_mode(doc: dict) -> Figure | None:
    """Hops a packet crosses one way, per variant, broken down by device kind.

    One stacked bar per variant (one panel per flow); each segment counts the devices of
    one kind on the flow's typical path. Sweep points whose paths are all the same show as
    one bar per compare variant.
    """
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
    panels = _flow_panels(variants, flows, cats_per_flow)
    n = max(len(cats) for _, cats in panels)
    fig, axes = _figure(_cat_width(n, 0.7), 1.4 + 3.2 * len(panels), nrows=len(panels))
    kinds_seen: list[str] = _kind_order({k for v in variants for f in v.get("flows", [])
                                         for k in f["path"]})
    for ax, (title, cats) in zip(axes, panels, strict=True):
        for x, (_, v, name) in enumerate(cats):
            f = _flow(v, name)
            counts = Counter(f["path"])
            bottom = 0
            for kind in kinds_seen:
                if counts[kind]:
                    ax.bar(x, counts[kind], bottom=bottom, width=0.6,
                           color=_kind_color(kind, kinds_seen), edgecolor="white",
                           linewidth=0.8)
                    bottom += counts[kind]
            if bottom:
                ax.annotate(f"{bottom}", (x, bottom), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom",
                            fontsize=8, fontweight="bold")
            else:
                _note(ax, x, "unreachable" if f["unreachable"] else "no route")
        _categories(ax, [c[0] for c in cats])
        ax.set_ylim(bottom=0, top=max(1, ax.get_ylim()[1]))
        ax.set_ylabel("hops, one way (devices)")
        ax.set_title(title, loc="left")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.margins(y=0.1)
    _title(fig, "Hops a packet crosses, by device kind")
    _legend(fig, [Patch(facecolor=_kind_color(k, kinds_seen), label=k)
                  for k in reversed(kinds_seen)], title="device kind")
    return fig


# ---- 2. latency ----------------------------------------------------------------------------

@_styled
def latency_by_mode(doc: dict) -> Figure | None:
    """One-way latency per variant: p50, p90 and p99 as points on one line (µs), the mean
    as a diamond.

    Points, not bars: a bar's length would mean nothing on the logarithmic axis used when
    the latencies span more than a factor of 20, and equal percentiles show as one point.
    Points take the colour of the variant's network mode.
    """
    variants = doc["variants"]
    flows = [n for n in _flow_names(variants)
             if any((_flow(v, n) or {}).get("latency_us", {}).get("p50") is not None
                    for v in variants)]
    if not flows:
        return None
    panels = _flow_panels(variants, flows, [[(_label(v), v) for v in variants]] * len(flows))
    n = max(len(cats) for _, cats in panels)
    fig, axes = _figure(_cat_width(n, 0.8), 1.4 + 3.4 * len(panels), nrows=len(panels))
    modes = []
    for ax, (title, cats) in zip(axes, panels, strict=True):
        values = []
        for x, (_, v, name) in enumerate(cats):
            f = _flow(v, name)
            lat = (f or {}).get("latency_us") or {}
            mode = _mode(v, f["to"] if f else None)
            if lat.get("p50") is None:
                _note(ax, x, "no packets delivered" if f else "no such flow")
                continue
            modes.append(mode)
            color = _mode_color(mode)
            ax.plot([x + 0.1] * 2, [lat["p50"], lat["p99"]], color=color, linewidth=2.5,
                    solid_capstyle="round", zorder=2)
            for p, marker in _PERCENTILE_MARKERS:
                ax.plot([x + 0.1], [lat[p]], marker=marker, color=color, markersize=6,
                        markeredgecolor="white", markeredgewidth=0.6, linestyle="none",
                        zorder=3)
                values.append(lat[p])
            ax.plot([x - 0.1], [lat["mean"]], marker="D", color="black", markersize=5,
                    zorder=4, linestyle="none")
            ci = ((f or {}).get("ci95") or {}).get("latency_mean_us")
            if ci:  # replications: the mean's 95 % interval as an error bar
                ax.errorbar([x - 0.1], [lat["mean"]], yerr=[[lat["mean"] - ci[0]],
                                                            [ci[1] - lat["mean"]]],
                            color="black", capsize=3, linewidth=1, zorder=4)
            ax.annotate(_num(lat["mean"]), (x, lat["p99"]), xytext=(0, 6),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
        if _wide(values):
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0, top=max(values, default=1) * 1.18)
        _categories(ax, [c[0] for c in cats])
        ax.set_ylabel("one-way latency (µs)")
        ax.set_title(title, loc="left")
    _title(fig, "One-way latency by variant")
    handles = _mode_handles(modes) + [
        Line2D([], [], marker=m, color="#555555", linestyle="none", label=p)
        for p, m in _PERCENTILE_MARKERS
    ] + [Line2D([], [], marker="D", color="black", linestyle="none",
                label="mean (value above)")]
    _legend(fig, handles, title="network mode / percentile")
    return fig


# ---- 3. overhead by device -----------------------------------------------------------------

def _above_resolution(row: dict) -> bool:
    """Whether a comparison row differs from its baseline by more than rounding."""
    kinds = row.get("overhead_by_kind_us") or {}
    net = (row.get("latency_overhead_us") or {}).get("mean") or 0.0
    return abs(net) >= RESOLUTION_US or any(abs(d) >= RESOLUTION_US for d in kinds.values()) \
        or bool(row.get("extra_hops"))


@_styled
def overhead_by_device(doc: dict) -> Figure | None:
    """Latency each device kind adds (or saves) per variant against the baseline variant.

    Stacked bars of the comparison's ``overhead_by_kind_us``: positive kinds stack up from
    zero, negative ones down; a diamond marks the net change of the mean latency.
    """
    comp = doc.get("comparison") or {}
    rows = [r for r in comp.get("flows", []) if r.get("latency_overhead_us") is None
            or _above_resolution(r)]
    if not any(r.get("latency_overhead_us") for r in rows):
        return None  # no variant differs from the baseline by more than rounding
    by_name = {v["name"]: v for v in doc["variants"]}
    flows = list(dict.fromkeys(r["name"] for r in rows))
    kinds = _kind_order({k for r in rows for k, d in (r.get("overhead_by_kind_us") or {}).items()
                         if abs(d) >= RESOLUTION_US})
    n = max(sum(1 for r in rows if r["name"] == f) for f in flows)
    fig, axes = _figure(_cat_width(n, 0.75), 1.4 + 3.4 * len(flows), nrows=len(flows))
    for ax, name in zip(axes, flows, strict=True):
        frows = [r for r in rows if r["name"] == name]
        labels, extents = [], []
        for x, r in enumerate(frows):
            v = by_name.get(r["variant"])
            labels.append(_label(v) if v else _short(r["variant"]))
            by_kind = r.get("overhead_by_kind_us") or {}
            if not r.get("latency_overhead_us"):
                _note(ax, x, "no packets delivered")
                continue
            up = down = 0.0
            for kind in kinds:
                d = by_kind.get(kind, 0.0)
                if abs(d) < RESOLUTION_US:
                    continue
                base = up if d > 0 else down
                ax.bar(x, d, bottom=base, width=0.6, color=_kind_color(kind, kinds),
                       edgecolor="white", linewidth=0.8)
                if d > 0:
                    up += d
                else:
                    down += d
            extents += [abs(up), abs(down)]
            net = (r.get("latency_overhead_us") or {}).get("mean")
            if net is not None:
                ax.plot([x], [net], marker="D", color="black", linestyle="none", zorder=4)
                hops = r.get("extra_hops")
                text = f"{'+' if net >= 0 else '-'}{_num(abs(net))} µs"
                if hops is not None:
                    text += f"\n{hops:+g} hop{'' if abs(hops) == 1 else 's'}"
                ax.annotate(text, (x, up), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7)
        ax.axhline(0, color="black", linewidth=0.8)  # linear: a bar's size is its share
        ax.margins(y=0.18)
        _categories(ax, labels)
        ax.set_ylabel("latency added per device kind\n(µs, one way)")
        ax.set_title(f"{_flow_title(doc['variants'], name)} \u2014 against baseline "
                     f"{_short(comp.get('baseline', ''))!r}", loc="left")
    _title(fig, "What each variant adds to a packet's path, by device kind")
    handles = [Patch(facecolor=_kind_color(k, kinds), label=k) for k in reversed(kinds)]
    handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                          label="net change of mean latency"))
    _legend(fig, handles, title="device kind")
    return fig


# ---- 4. overhead vs load -------------------------------------------------------------------

def _sweep_axis_label(variants: list[dict]) -> str:
    sweep = next(v["sweep"] for v in variants if v.get("sweep"))
    path = sweep["path"]
    value = str(sweep["value"])
    if value.endswith("/s") or path.endswith("rate"):
        return f"{path} (packets/s)"
    return path


def _compact(x: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


@_styled
def overhead_vs_load(doc: dict) -> Figure | None:
    """Latency (mean and p99) against the swept value, one line per compare variant.

    Needs a sweep over a numeric field (two or more points). A second panel shows the
    share of packets dropped when any were.
    """
    variants = [v for v in doc["variants"] if v.get("sweep") and
                v["sweep"].get("number") is not None]
    numbers = sorted({v["sweep"]["number"] for v in variants})
    flows = _flow_names(variants)
    if len(numbers) < 2 or not flows:
        return None
    groups = _groups(variants)
    colors = _group_colors({g: _mode(vs[0], _flow_to(vs[0], flows)) for g, vs in groups.items()})
    dropped = any(f["dropped"] for v in variants for f in v.get("flows", []))
    ncols = len(flows)
    fig, axes = _figure(max(6.5, 1.5 + 4.8 * ncols), 4.2 + (2.4 if dropped else 0),
                        nrows=2 if dropped else 1, ncols=ncols, sharex="col",
                        gridspec_kw={"height_ratios": [2.2, 1]} if dropped else None)
    lat_axes, drop_axes = axes[:ncols], axes[ncols:]
    drawn: dict[str, list] = {}  # group -> its latency series, to name identical ones
    unreachable = []
    for col, name in enumerate(flows):
        ax = lat_axes[col]
        values = []
        for group, vs in groups.items():
            pts = sorted(((v["sweep"]["number"], _flow(v, name)) for v in vs
                          if _flow(v, name)), key=lambda p: p[0])
            if not pts:
                continue
            color = colors[group]
            mean = [(x, f["latency_us"]["mean"]) for x, f in pts
                    if f["latency_us"]["mean"] is not None]
            p99 = [(x, f["latency_us"]["p99"]) for x, f in pts
                   if f["latency_us"]["p99"] is not None]
            if mean:
                ax.plot(*zip(*mean, strict=True), color=color, marker="o", linestyle="-")
                ax.plot(*zip(*p99, strict=True), color=color, marker="^", linestyle="--")
                values += [y for _, y in mean + p99]
                drawn.setdefault(group, []).append((name, mean, p99))
            elif _short(group) not in unreachable:
                unreachable.append(_short(group))
            if dropped:
                share = [(x, 100.0 * f["dropped"] / f["sent"] if f["sent"] else 0.0)
                         for x, f in pts]
                drop_axes[col].plot(*zip(*share, strict=True), color=color, marker="s")
        if _wide(values):
            ax.set_yscale("log")
        ax.set_ylabel("one-way latency (µs)")
        ax.set_title(_flow_title(variants, name), loc="left")
        ax.grid(True, axis="both")
        if dropped:
            dax = drop_axes[col]
            dax.set_ylabel("packets dropped (%)")
            dax.set_ylim(bottom=0)
            dax.grid(True, axis="both")
        bottom = drop_axes[col] if dropped else ax
        bottom.set_xlabel(_sweep_axis_label(variants))
        if numbers[-1] / max(numbers[0], 1e-12) >= 10 and numbers[0] > 0:
            ax.set_xscale("log")
        if len(numbers) <= 8:
            ax.set_xticks(numbers, [_compact(x) for x in numbers])
            ax.minorticks_off()
            if dropped:
                # shared x: the labels belong to the bottom panel only
                ax.tick_params(axis="x", labelbottom=False)
    title = "Latency against load"
    if unreachable:
        title += f" ({', '.join(unreachable)}: no packets delivered)"
    _title(fig, title)
    handles = []
    for group, series in drawn.items():
        twin = next((g for g, other in drawn.items() if other == series), group)
        label = _short(group) + ("" if twin == group else f" (same as {_short(twin)})")
        handles.append(Line2D([], [], color=colors[group], linewidth=3, label=label))
    handles += [
        Line2D([], [], color="#555555", marker="o", linestyle="-", label="mean"),
        Line2D([], [], color="#555555", marker="^", linestyle="--", label="p99"),
    ]
    if dropped:
        handles.append(Line2D([], [], color="#555555", marker="s",
                              label="dropped (% of sent)"))
    _legend(fig, handles, title="variant / statistic")
    return fig


def _flow_to(v: dict, flows: list[str]) -> str | None:
    f = next((_flow(v, n) for n in flows if _flow(v, n)), None)
    return f["to"] if f else None


def _group_colors(modes: dict[str, str]) -> dict[str, str]:
    """The mode's colour per group; further groups of the same mode get darker or lighter
    shades of it, so that their lines stay apart."""
    out, seen = {}, Counter()
    for group, mode in modes.items():
        base = _mode_color(mode)
        k = seen[mode]
        seen[mode] += 1
        if k == 0:
            out[group] = base
        else:
            amount = 0.3 * ((k + 1) // 2)
            r, g, b = to_rgb(base)
            out[group] = (to_rgb(_lighten(base, amount)) if k % 2 == 0 else
                          (r * (1 - amount), g * (1 - amount), b * (1 - amount)))
    return out


# ---- 5. tasks per instance -----------------------------------------------------------------

def _tasks_by_mode(inst: dict, fallback: str) -> dict[str, int]:
    """Running tasks of an instance per network mode (results without the per-mode count
    put them all under the variant's mode)."""
    return inst.get("tasks_by_mode") or ({fallback: inst["tasks"]} if inst["tasks"] else {})


@_styled
def tasks_per_instance(doc: dict) -> Figure | None:
    """Running tasks on each instance, grouped by instance type and variant.

    Tasks are stacked by network mode, in each mode's colour; a black bar marks each
    instance's task limit for a mode that has one (awsvpc: ENIs - 1, or its branch ENIs
    with trunking), where the variant runs tasks of that mode.
    """
    variants = doc["variants"]
    if not any(v["placement"]["instances"] for v in variants):
        return None

    def signature(v):
        return tuple((i["type"], i["tasks"], i["eni"]["used"], i["branch_eni"]["used"])
                     for i in v["placement"]["instances"])

    cats = _collapse(variants, signature)
    types = list(dict.fromkeys(i["type"] for _, v in cats for i in v["placement"]["instances"]))
    groups = []  # (label, variant, instances)
    for t in types:
        for lab, v in cats:
            insts = [i for i in v["placement"]["instances"] if i["type"] == t]
            if insts:
                named = len(types) == 1 or t in lab.split("\n")
                groups.append((lab if named else f"{lab}\n{t}", v, insts))
    nbars = sum(len(g[2]) for g in groups)
    fig, axes = _figure(_cat_width(nbars + len(groups), 0.38, hi=16.0), 4.6)
    ax = axes[0]
    gap, bw = 0.8, 0.8
    label_bars = nbars <= 30
    x = 0.0
    centres, modes, limited = [], [], set()
    for _, v, insts in groups:
        svc_modes = [s["network_mode"] for s in v["placement"]["services"]
                     if s.get("launch_type", "EC2") == "EC2"]  # Fargate is off the instances
        start = x
        for inst in insts:
            bottom = 0
            for mode, n in sorted(_tasks_by_mode(inst, _mode(v)).items()):
                ax.bar(x, n, bottom=bottom, width=bw, color=_mode_color(mode),
                       edgecolor="white", linewidth=0.6)
                modes.append(mode)
                bottom += n
            top, text = inst["tasks"], f"{inst['tasks']}"
            limits = {m: lim for m, lim in inst.get("task_limits", {}).items() if m in svc_modes}
            for mode, limit in limits.items():
                ax.plot([x - bw / 2, x + bw / 2], [limit] * 2, color="black",
                        linewidth=2.2, solid_capstyle="butt", zorder=4)
                limited.add(mode)
                n = _tasks_by_mode(inst, _mode(v)).get(mode, 0)
                top, text = max(top, limit), f"{n}/{limit}"
            if label_bars:
                ax.annotate(text, (x, top), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7)
            x += 1
        centres.append((start + x - 1) / 2)
        x += gap
    def tick(label: str, v: dict) -> str:  # Fargate tasks run on no instance: say so
        n = (v["placement"].get("fargate") or {}).get("tasks", 0)
        return f"{label}\n(+{n} on Fargate)" if n else label

    ax.set_xticks(centres, [tick(g[0], g[1]) for g in groups])
    ax.set_xlim(-0.8, x - gap + 0.2)
    ax.grid(False, axis="x")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("running tasks per instance")
    ax.set_xlabel("instances, grouped by variant" + ("" if len(types) == 1 else " and type"))
    ax.margins(y=0.08)
    full = [f"subnet {sn['name']} has no free IP ({sn['ips_used']}/{sn['usable']} used) in "
            f"{lab.replace(chr(10), ' ')}"
            for lab, v in cats for sn in v["placement"].get("subnets", [])
            if sn.get("usable") and sn.get("ips_free") == 0]
    if full:
        ax.set_title("; ".join(full[:2]) + ("; ..." if len(full) > 2 else ""), loc="left",
                     fontweight="normal", color="#9c2a2a")
    title = "Tasks per instance"
    if len(types) == 1:
        title += f" ({types[0]})"
    _title(fig, title)
    handles = _mode_handles(modes)
    if limited:
        names = "/".join(sorted(limited))
        notes = "\n".join(f"({m}: {_modes.MODES[m].task_limit_note})" for m in sorted(limited)
                          if m in _modes.MODES and _modes.MODES[m].task_limit_note)
        handles.append(Line2D([], [], color="black", linewidth=2.2,
                              label=f"{names} task limit\n{notes};\nlabel: {names} "
                                    "tasks/limit".replace(", or ", ",\nor ")))
    _legend(fig, handles, title="tasks by network mode")
    return fig


# ---- 6. placement outcome ------------------------------------------------------------------

@_styled
def placement_outcome(doc: dict) -> Figure | None:
    """Per service and variant: running tasks, and tasks not running split by the reason
    ECS gave (``RESOURCE:ENI``, ``RESOURCE:PORTS``, ...); a black bar marks the desired
    count.
    """
    variants = doc["variants"]
    if not any(v["placement"]["services"] for v in variants):
        return None

    def signature(v):
        return tuple((s["name"], s["running"], s["pending"], tuple(sorted(s["failures"].items())))
                     for s in v["placement"]["services"])

    cats = _collapse(variants, signature)
    services = list(dict.fromkeys(s["name"] for _, v in cats for s in v["placement"]["services"]))
    bars = []
    for lab, v in cats:
        for s in v["placement"]["services"]:
            bars.append((lab if len(services) == 1 else f"{lab}\n{s['name']}", v, s))
    reasons = sorted({r for _, _, s in bars for r in s["failures"]})
    fig, axes = _figure(_cat_width(len(bars), 0.7), 4.6)
    ax = axes[0]
    modes, waiting = [], False
    for x, (_, v, s) in enumerate(bars):
        mode = _mode(v, s["name"])
        bottom = 0
        if s["running"]:
            ax.bar(x, s["running"], width=0.6, color=_mode_color(mode), edgecolor="white",
                   linewidth=0.8)
            modes.append(mode)
            bottom = s["running"]
        for r in reasons:
            n = s["failures"].get(r, 0)
            if n:
                ax.bar(x, n, bottom=bottom, width=0.6, color=_reason_color(r, reasons),
                       edgecolor="white", linewidth=0.8, hatch="///")
                bottom += n
        rest = s["pending"] - sum(s["failures"].values())
        if rest > 0:
            ax.bar(x, rest, bottom=bottom, width=0.6, color=_PENDING_COLOR, edgecolor="white",
                   linewidth=0.8, hatch="///")
            bottom += rest
            waiting = True
        ax.plot([x - 0.38, x + 0.38], [s["desired"]] * 2, color="black", linewidth=2.2,
                solid_capstyle="butt", zorder=4)
        ax.annotate(f"{s['running']}/{s['desired']}", (x, max(bottom, s["desired"])),
                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=7)
    _categories(ax, [b[0] for b in bars])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("tasks")
    ax.margins(y=0.12)
    _title(fig, "Placement outcome: running tasks, and the rest by the reason ECS gives")
    handles = _mode_handles(modes, "running ({})")
    handles += [Patch(facecolor=_reason_color(r, reasons), edgecolor="white", hatch="///",
                      label=f"not running: {r}") for r in reasons]
    if waiting:
        handles.append(Patch(facecolor=_PENDING_COLOR, edgecolor="white", hatch="///",
                             label="pending, no reason yet"))
    handles.append(Line2D([], [], color="black", linewidth=2.2,
                          label="desired count\n(label: running/desired)"))
    _legend(fig, handles, title="tasks")
    return fig


# ---- 6b. where packets stop ----------------------------------------------------------------

_FATE = (("delivered", "#59a14f"), ("dropped", "#f28e2b"), ("unreachable", "#9c2a2a"),
         ("in_flight", "#bab0ac"))


def _short_reason(blocked: dict | None, width: int = 64, lines: int = 3) -> str:
    """Why packets stopped, wrapped beside a bar (the device id is in results.json)."""
    if not blocked:
        return ""
    import textwrap  # noqa: PLC0415

    wrapped = textwrap.wrap(blocked["reason"], width)
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][:width - 1] + "\u2026"
    return "\n".join(wrapped)


@_styled
def packet_fate(doc: dict) -> Figure | None:
    """Per flow and variant, the share of packets sent that arrived, were dropped in a
    queue, could not arrive (no route, a security group, a loopback, a hop limit, no
    healthy target) or were still on their way; beside each bar, where and why packets
    stopped. Drawn when some packet of some flow could not arrive."""
    variants = doc["variants"]
    flows = _flow_names(variants)
    if not any(f.get("unreachable") or f.get("blocked") for v in variants
               for f in v.get("flows", [])):
        return None
    rows = [(name, v) for name in flows for v in variants if _flow(v, name)]
    fig, axes = _figure(11.0, 1.2 + 0.62 * len(rows))
    ax = axes[0]
    labels = []
    for y, (name, v) in enumerate(rows):
        f = _flow(v, name)
        sent = max(1, f["sent"])
        left = 0.0
        for key, color in _FATE:
            share = (f.get(key) or 0) / sent
            if share:
                ax.barh(y, share, left=left, height=0.6, color=color, edgecolor="white",
                        linewidth=0.6)
                left += share
        ax.text(1.02, y, _short_reason(f.get("blocked")), va="center", fontsize=7,
                color="#9c2a2a", transform=ax.get_yaxis_transform())
        labels.append(f"{name} \u00b7 {_label(v).replace(chr(10), ' ')}" if len(flows) > 1
                      else _label(v).replace(chr(10), " "))
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel("share of the packets sent")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    _title(fig, "Where packets stop: arrived, dropped, or unreachable and why")
    used = [(k, c) for k, c in _FATE if any((_flow(v, n) or {}).get(k) for n, v in rows)]
    _legend(fig, [Patch(facecolor=c, label=k.replace("_", " ")) for k, c in used],
            title="packets")
    return fig


# ---- 7. device utilization -----------------------------------------------------------------

@_styled
def device_utilization(doc: dict, top: int = 12) -> Figure | None:
    """The ``top`` busiest devices (horizontal bars of utilization), drops annotated.

    One panel per variant when there are at most four variants with traffic and no sweep;
    otherwise the busiest variant only (most drops, then highest utilization). Shared
    resources (an instance's vCPU pool, its card per direction) are dotted, and shown when
    busier than any one device of their host: their load and drops are those of the
    devices that use them.
    """
    variants = [v for v in doc["variants"] if v.get("devices")]
    if not variants:
        return None
    swept = any(v.get("sweep") for v in doc["variants"])
    if len(variants) > 4 or swept:
        variants = [max(variants, key=lambda v: (sum(d["drops"] for d in v["devices"]),
                                                 max(d["utilization"] for d in v["devices"])))]
        top_n = top
    else:
        top_n = top if len(variants) == 1 else max(4, top // 2)
    picked = []
    for v in variants:
        devs = sorted(_informative(v["devices"]),
                      key=lambda d: (-d["utilization"], -d["drops"], d["id"]))
        picked.append((v, devs[:top_n]))
    kinds = _kind_order({d["kind"] for _, devs in picked for d in devs})
    heights = [len(devs) for _, devs in picked]
    longest = max(len(d["id"]) for _, devs in picked for d in devs)
    fig, axes = _figure(min(14.0, 6.0 + 0.07 * longest),
                        1.0 + sum(0.22 * h + 0.65 for h in heights), nrows=len(picked),
                        sharex=True, gridspec_kw={"height_ratios": heights})
    umax = max(d["utilization"] for _, devs in picked for d in devs) * 100
    for ax, (v, devs) in zip(axes, picked, strict=True):
        ys = range(len(devs))
        for y, d in zip(ys, devs, strict=True):
            u = d["utilization"] * 100
            ax.barh(y, u, height=0.7, color=_kind_color(d["kind"], kinds),
                    hatch="...." if _pool(d["kind"]) else None, edgecolor="white",
                    linewidth=0)
            text = f"{u:.3g} %"
            if d["drops"]:
                text += f"  \u2022 {d['drops']:,} drops"
            ax.annotate(text, (u, y), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=7, color="#b00000" if d["drops"] else "#333333")
        ax.set_yticks(list(ys), [d["id"] for d in devs])
        ax.invert_yaxis()
        ax.grid(False, axis="y")
        ax.grid(True, axis="x")
        ax.tick_params(axis="y", labelsize=7)
        label = _label(v).replace("\n", " ")
        ax.set_title(f"variant {label}", loc="left")
    axes[-1].set_xlabel("utilization (% of the run's measured window busy)")
    axes[-1].set_xlim(0, umax * 1.35 if umax > 0 else 1)
    busiest = " (busiest variant)" if len(picked) == 1 and len(doc["variants"]) > 1 else ""
    _title(fig, f"Busiest devices{busiest}")
    _legend(fig, [Patch(facecolor=_kind_color(k, kinds), label=k + (" (shared)" if _pool(k)
                                                                     else ""),
                        hatch="...." if _pool(k) else None, edgecolor="white")
                  for k in kinds], title="device kind")
    return fig


def _informative(devices: list[dict]) -> list[dict]:
    """Devices, and the shared resources busier than every device of their host on their
    own (a pool that only one device uses repeats that device)."""
    busiest: dict[str | None, tuple[float, int]] = {}
    for d in devices:
        if not _pool(d["kind"]):
            u, n = busiest.get(d.get("host"), (0.0, 0))
            busiest[d.get("host")] = (max(u, d["utilization"]), max(n, d["drops"]))
    out = []
    for d in devices:
        if _pool(d["kind"]):
            u, n = busiest.get(d.get("host"), (0.0, 0))
            if d["utilization"] <= u + 1e-9 and d["drops"] <= n:
                continue
        out.append(d)
    return out


# ---- 8. deployment timeline ----------------------------------------------------------------

def _eventful(v: dict) -> bool:
    """Whether a variant's timeline shows more than tasks starting once: a deployment, an
    instance event, or a service whose counts change after it first settled (all wanted
    tasks running and healthy)."""
    if v.get("deployments") or _cluster_marks(v):
        return True
    settled: set[str] = set()
    for r in v.get("timeline") or []:
        if r["service"] in settled:
            return True
        if r["pending"] == 0 and r["healthy"] >= r["running_new"] and not r["running_old"]:
            settled.add(r["service"])
    return False


_DEPLOY_SPAN = {"facecolor": "#f1ce63", "alpha": 0.25}
_STALL_SPAN = {"facecolor": "#bab0ac", "alpha": 0.35, "hatch": "//", "edgecolor": "#8c8c8c"}
_ZERO_SPAN = {"facecolor": "#e15759", "alpha": 0.30}


def _cluster_marks(v: dict) -> list[tuple[float, str]]:
    """(time, label) of the instance events of a variant (those with a ``kind``: drains,
    terminations, managed scaling's launches and arrivals); same-time events of a kind
    are added up."""
    counts: Counter = Counter()
    for e in v["placement"].get("events") or []:
        if e.get("kind"):
            counts[(float(e["t"]), e["kind"])] += e.get("instances", 1)
    return [(t, f"{kind} {n}") for (t, kind), n in sorted(counts.items())]


def _zero_healthy(rows: list[dict], t0: float, t1: float) -> list[tuple[float, float]]:
    """Windows within [t0, t1] in which the service had no healthy task."""
    windows, start = [], None
    for r in rows:
        t = min(max(r["t"], t0), t1)
        if r.get("healthy", 0) == 0 and start is None and r["t"] < t1:
            start = t
        elif r.get("healthy", 0) > 0 and start is not None:
            windows.append((start, t))
            start = None
    if start is not None:
        windows.append((start, t1))
    return [(a, b) for a, b in windows if b > a]


@_styled
def deployment_timeline(doc: dict) -> Figure | None:
    """Tasks over simulated time, per variant and service: stacked areas of running
    tasks of the older and the current revision, draining tasks and pending ones, with the
    healthy count as a line.

    Drawn when a variant has a ``timeline`` with more than start-up in it (a deployment,
    scaling, health checks, instance loss); deployments are shaded from start to finish
    with their status.
    """
    variants = [v for v in doc["variants"] if v.get("timeline")]
    if not any(_eventful(v) for v in variants):
        return None
    panels = [(v, s) for v in variants
              for s in dict.fromkeys(r["service"] for r in v["timeline"])]
    end = max(float(v.get("end") or max(r["t"] for r in v["timeline"])) for v in variants)
    scale, unit = (60.0, "min") if end > 600 else (1.0, "s")
    fig, axes = _figure(9.5, 1.2 + 2.0 * len(panels), nrows=len(panels), sharex=True,
                        sharey=True)
    drawn: set[str] = set()
    peak = 0.0
    for ax, (v, svc) in zip(axes, panels, strict=True):
        rows = [r for r in v["timeline"] if r["service"] == svc]
        v_end = float(v.get("end") or rows[-1]["t"])
        ts = [r["t"] / scale for r in rows] + [v_end / scale]
        base = [0.0] * len(ts)
        for key, style in _AREAS.items():
            ys = [r.get(key, 0) for r in rows]
            top = [b + y for b, y in zip(base, ys + ys[-1:], strict=True)]
            area = {k: x for k, x in style.items() if k != "label"}
            ax.fill_between(ts, base, top, step="post", linewidth=0, zorder=1, **area)
            base = top
        healthy = [r.get("healthy", 0) for r in rows]
        ax.step(ts, healthy + healthy[-1:], where="post", zorder=3, **_HEALTHY)
        status = []
        for d in v.get("deployments") or []:
            if d.get("service") != svc:
                continue
            t0 = d["started_at"]
            t1 = d["finished_at"] if d.get("finished_at") is not None else v_end
            stalled = d.get("status") == "STALLED"
            ax.axvspan(t0 / scale, t1 / scale, linewidth=0, zorder=0,
                       **(_STALL_SPAN if stalled else _DEPLOY_SPAN))
            drawn.add("stalled" if stalled else "deploying")
            for z0, z1 in _zero_healthy(rows, t0, t1):
                ax.axvspan(z0 / scale, z1 / scale, linewidth=0, zorder=0, **_ZERO_SPAN)
                drawn.add("zero")
            reasons = ", ".join(d.get("failures") or {})
            status.append(f"rev {d.get('revision', '?')} {d.get('status', '')}".rstrip()
                          + (f", {d['waves']} wave(s)" if d.get("waves") else "")
                          + (f" on {reasons}" if stalled and reasons else ""))
        for t, label in _cluster_marks(v):
            ax.axvline(t / scale, color="#555555", linestyle="-.", linewidth=0.9)
            ax.annotate(label, (t / scale, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", va="top", fontsize=7,
                        color="#333333")
            drawn.add("cluster")
        title = f"{_label(v).replace(chr(10), ' ')} \u00b7 service {svc}"
        if status:
            title += "  \u2014  " + "; ".join(status)
        ax.set_title(title, loc="left")
        ax.set_ylabel("tasks")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, axis="both")
        peak = max(peak, max(base))
    axes[0].set_ylim(0, peak * 1.15 + 0.5)  # shared: the same task scale in every panel
    axes[-1].set_xlabel(f"simulated time ({unit})")
    axes[-1].set_xlim(0, end / scale)
    _title(fig, "Tasks over time")
    handles = [Patch(**style) for style in _AREAS.values()]
    handles.append(Line2D([], [], label="healthy (passing the health check)", **_HEALTHY))
    spans = {"deploying": (_DEPLOY_SPAN, "deployment in progress"),
             "stalled": (_STALL_SPAN, "deployment stalled (no progress)"),
             "zero": (_ZERO_SPAN, "no healthy task during the deployment")}
    handles += [Patch(label=label, **style) for key, (style, label) in spans.items()
                if key in drawn]
    if "cluster" in drawn:
        handles.append(Line2D([], [], color="#555555", linestyle="-.", linewidth=0.9,
                              label="instance events (drain, terminate,\nlaunch, register)"))
    _legend(fig, handles, title="tasks")
    return fig


# ---- all figures ---------------------------------------------------------------------------

def compare_modes(res: Source, metric: str = "hops") -> Figure | None:
    """The network-mode comparison: ``metric`` is ``hops`` (:func:`hops_by_mode`),
    ``latency`` (:func:`latency_by_mode`) or ``overhead`` (:func:`overhead_by_device`)."""
    funcs = {"hops": hops_by_mode, "latency": latency_by_mode, "overhead": overhead_by_device}
    if metric not in funcs:
        raise ValueError(f"metric must be one of {sorted(funcs)}, got {metric!r}")
    return funcs[metric](res)


#: Figure name (the file name) -> function, in the order ``write_all`` writes them.
FIGURES: dict[str, Callable[[Source], Figure | None]] = {
    "hops_by_mode": hops_by_mode,
    "latency_by_mode": latency_by_mode,
    "overhead_by_device": overhead_by_device,
    "overhead_vs_load": overhead_vs_load,
    "tasks_per_instance": tasks_per_instance,
    "placement_outcome": placement_outcome,
    "packet_fate": packet_fate,
    "device_utilization": device_utilization,
    "deployment_timeline": deployment_timeline,
}

_METADATA = {
    "svg": {"Date": None, "Creator": f"ecsnetsim {__version__}"},
    "png": {"Software": f"ecsnetsim {__version__}"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": f"ecsnetsim {__version__}"},
}


def save(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Save ``fig`` in the module style with reproducible metadata (format from the suffix)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    with mpl.rc_context(STYLE):
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_METADATA.get(fmt))
    return path


def write_all(res: Source, outdir: str | Path, formats=("png", "svg"),
              dpi: float | None = None) -> list[Path]:
    """Write every figure the results support into ``outdir`` as ``<name>.<format>``.

    Returns the paths written, in :data:`FIGURES` order. Figures that do not apply
    (e.g. ``overhead_vs_load`` without a sweep) are skipped. The same results give
    byte-identical files. Each figure is cleared once written.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn in FIGURES.items():
        fig = fn(res)
        if fig is None:
            continue
        try:
            for fmt in formats:
                written.append(save(fig, out / f"{name}.{fmt}", dpi=dpi))
        finally:
            fig.clear()
    return written
