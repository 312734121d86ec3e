"""One look for every figure: rc settings, colours, and the helpers that build, title,
lay out and annotate a figure.

Layout is done once per figure, without rendering and without a layout engine: the
margins each axes needs (its tick labels, labels, title and annotations), the legend's
width and the title's height are measured once and the grid is placed with
``subplots_adjust`` (:func:`_layout`); :func:`_fit` then widens the figure where a legend
would run into a title, placing the grid again from the same margins (pixels do not
change when the figure widens), and turns x tick labels that collide, the only change
measured again. Saving renders the figure exactly once. (Constrained layout, run at
every draw, was most of the cost of a run's figures.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import modes as _modes
from .data import RESOLUTION_US, Source, _doc  # noqa: F401 (RESOLUTION_US: re-exported)

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

#: One colour per device kind, in the order a packet usually meets them. Every two of
#: them (and of the spare colours of kinds not listed) are at least :data:`MIN_KIND_DE`
#: apart (CIE76 colour difference, :func:`color_distance`), so that two kinds stacked in
#: one bar never read as one.
KIND_COLORS: dict[str, str] = {
    "host_stack": "#1f77b4",
    "eni": "#17becf",
    "vpc_fabric": "#c7c7c7",
    "vpc_fabric_cross_az": "#7f7f7f",
    "alb": "#9467bd",
    "nlb": "#e7298a",
    "trunk_eni": "#ff7f0e",
    "vlan_branch": "#ffbb78",
    "iptables_nat": "#d62728",
    "host_forward": "#ff9896",
    "docker0": "#2ca02c",
    "veth": "#98df8a",
    "docker_proxy": "#bcbd22",
    "nic_hairpin": "#8c564b",
    "loopback": "#e377c2",
    "task_stack": "#9e9ac8",
    # shared resources behind the devices: an instance's vCPUs, its card per direction
    "vcpu_pool": "#7b4173",
    "card_rx": "#e6ab02",
    "card_tx": "#1b9e77",
}
_SPARE_KIND_COLORS = ["#dbdb8d", "#a6761d", "#c49c94", "#f7b6d2", "#393b79", "#637939"]

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
#: The least colour difference between two device kinds' colours (CIE76; about 2.3 is
#: the least a viewer notices side by side, 20 tells two colours apart at a glance).
MIN_KIND_DE = 20.0

_LOG_RATIO = 20.0  # use a log scale when the largest value is this many times the smallest


# ---- building a figure ---------------------------------------------------------------------

def _styled(fn: Callable[..., Figure | None]) -> Callable[..., Figure | None]:
    """Draw inside the module's rc context, from a results document, and lay the figure
    out once (see :func:`_fit`)."""

    applies = _applies(fn.__name__)

    @functools.wraps(fn)
    def wrapper(res: Source, *args, **kwargs) -> Figure | None:
        doc = _doc(res)
        if not applies(doc):
            return None
        with mpl.rc_context(STYLE):
            fig = fn(doc, *args, **kwargs)
            if fig is not None:
                _fit(fig)
        return fig

    return wrapper


def _applies(name: str) -> Callable[[dict], bool]:
    """Whether the results hold something figure ``name`` shows (:data:`.figdata.APPLIES`),
    asked before anything is drawn."""
    from .figdata import APPLIES

    return APPLIES.get(name, lambda doc: True)


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kw):
    """A figure on the Agg canvas (no pyplot) and its axes as a flat list."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, [ax for row in axes for ax in row]


def _title(fig: Figure, text: str) -> None:
    fig.suptitle(text, x=0.01, ha="left")


_PAD = 8.0  # pixels at the figure's edges and between the title, axes and legend


@dataclass
class _Margins:
    """What the axes grid must leave room for, in pixels, measured once per figure:
    around the grid (left, right, top, bottom), between rows (below one row, above the
    next) and between columns, and each axes' own margins (for where its decorations
    reach once placed)."""

    left: float = 0.0
    right: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    above: float = 0.0
    below: float = 0.0
    before: float = 0.0
    after: float = 0.0
    each: list[tuple[float, float, float, float]] = field(default_factory=list)


def _measure(fig: Figure) -> _Margins:
    """Each axes' decorations (tick labels, labels, title, annotations) beyond its box:
    one tight bounding box per axes. Pixels, so they hold when the figure widens."""
    renderer = fig.canvas.get_renderer()
    gs = fig.axes[0].get_subplotspec().get_gridspec()
    nrows, ncols = gs.get_geometry()
    m = _Margins()
    for ax in fig.axes:
        tight, box = ax.get_tightbbox(renderer), ax.bbox
        m_l, m_r = max(0.0, box.x0 - tight.x0), max(0.0, tight.x1 - box.x1)
        m_b, m_t = max(0.0, box.y0 - tight.y0), max(0.0, tight.y1 - box.y1)
        m.each.append((m_l, m_b, m_r, m_t))
        spec = ax.get_subplotspec()
        rows, cols = spec.rowspan, spec.colspan
        m.left = max(m.left, m_l) if cols.start == 0 else m.left
        m.right = max(m.right, m_r) if cols.stop == ncols else m.right
        m.top = max(m.top, m_t) if rows.start == 0 else m.top
        m.bottom = max(m.bottom, m_b) if rows.stop == nrows else m.bottom
        m.below = max(m.below, m_b) if rows.stop < nrows else m.below  # under one row
        m.above = max(m.above, m_t) if rows.start > 0 else m.above  # and over the next
        m.after = max(m.after, m_r) if cols.stop < ncols else m.after
        m.before = max(m.before, m_l) if cols.start > 0 else m.before
    return m


def _place(fig: Figure, m: _Margins) -> None:
    """Place the axes grid so that the measured margins, the title (top) and the legend
    (right) fit: ``subplots_adjust``, widening the figure when they leave too little."""
    renderer = fig.canvas.get_renderer()
    nrows, ncols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    # the room the legend takes at the right edge, from where it starts
    legend = max((fig.bbox.width - leg.get_window_extent(renderer).x0 for leg in fig.legends),
                 default=0)
    title = getattr(fig, "_suptitle", None)
    head = fig.bbox.height - title.get_window_extent(renderer).y0 if title is not None else 0
    hgap, wgap = m.below + m.above + _PAD, m.after + m.before + _PAD
    width, height = fig.bbox.width, fig.bbox.height
    fixed = m.left + m.right + legend + 2 * _PAD + (ncols - 1) * wgap
    if width - fixed < 0.35 * width:  # the legend or labels leave too little: widen
        fig.set_figwidth(fixed / 0.65 / fig.dpi)
        width = fig.bbox.width
    x0, x1 = (m.left + _PAD) / width, 1 - (m.right + legend + _PAD) / width
    y0, y1 = (m.bottom + _PAD) / height, 1 - (m.top + head + _PAD) / height
    axes_h = max(1.0, ((y1 - y0) * height - (nrows - 1) * hgap) / nrows)
    axes_w = max(1.0, ((x1 - x0) * width - (ncols - 1) * wgap) / ncols)
    fig.subplots_adjust(left=x0, right=x1, bottom=y0, top=max(y1, y0 + 0.05),
                        hspace=hgap / axes_h, wspace=wgap / axes_w)


def _layout(fig: Figure) -> _Margins:
    """Measure the axes' margins and place the grid (:func:`_measure`, :func:`_place`)."""
    m = _measure(fig)
    _place(fig, m)
    return m


def _overlap(fig: Figure, m: _Margins) -> float:
    """Pixels by which an axes' decorations or the title run into the legend (0 when
    they do not): the axes' reach from their placed boxes and measured margins."""
    if not fig.legends:
        return 0.0
    renderer = fig.canvas.get_renderer()
    boxes = [leg.get_window_extent(renderer) for leg in fig.legends]
    left, top = min(b.x0 for b in boxes), max(b.y1 for b in boxes)
    # (right end, bottom, room it keeps from the legend): axes were laid out _PAD from it;
    # an axes' titles measured where they are now (a left title's end moves with the
    # axes' left edge, not its right one)
    parts = [(ax.bbox.x1 + m_r, ax.bbox.y0 - m_b, _PAD / 2)
             for ax, (_, m_b, m_r, _) in zip(fig.axes, m.each, strict=True)]
    for ax in fig.axes:
        for text in (ax._left_title, ax.title, ax._right_title):
            if text.get_text():
                box = text.get_window_extent(renderer)
                parts.append((box.x1, box.y0, _PAD / 2))
    title = getattr(fig, "_suptitle", None)
    if title is not None:
        t = title.get_window_extent(renderer)
        parts.append((t.x1, t.y0, 2 * _PAD))
    return max((x1 + room - left for x1, y0, room in parts if y0 < top), default=0.0)


def _rotate_crowded(fig: Figure) -> bool:
    """Turn the x tick labels of an axes where two run into each other; whether any
    turned (labels set upright stay so)."""
    renderer = fig.canvas.get_renderer()
    turned = False
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels()
                  if t.get_text() and t.get_visible() and not t.get_rotation()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        if any(a.x1 + 4 > b.x0 for a, b in zip(boxes, boxes[1:], strict=False)):
            for t in labels:
                t.set_rotation(30)
                t.set_horizontalalignment("right")
                t.set_rotation_mode("anchor")
            turned = True
    return turned


def _fit(fig: Figure) -> None:
    """Lay the figure out without rendering it: each axes' margins measured once, the
    grid placed; then widen the figure where the title or an axes runs into the legend
    (placing the grid again from the same margins) and turn x tick labels that collide
    (the only change that needs measuring again)."""
    m = _layout(fig)
    rotated = False
    for _ in range(3):
        over = _overlap(fig, m)
        if over > 1:
            fig.set_figwidth(fig.get_figwidth() + over / fig.dpi)
            _place(fig, m)
            continue
        if not rotated and _rotate_crowded(fig):
            rotated = True
            m = _layout(fig)
            continue
        break


def _legend(fig: Figure, handles: list, title: str | None = None) -> None:
    """A legend outside the axes, on the right, so it never covers data."""
    if handles:
        fig.legend(handles=handles, loc="outside right upper", title=title,
                   alignment="left")


# ---- colours -------------------------------------------------------------------------------

def _lab(color) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of a matplotlib colour."""
    def linear(u: float) -> float:
        return u / 12.92 if u <= 0.04045 else ((u + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(u) for u in to_rgb(color))
    xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
           0.2126 * r + 0.7152 * g + 0.0722 * b,
           (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def color_distance(a, b) -> float:
    """CIE76 colour difference (Euclidean in L*a*b*) of two colours.

    >>> round(color_distance("#000000", "#ffffff"))
    100
    """
    return math.dist(_lab(a), _lab(b))


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _kind_color(kind: str, seen: list[str] | None = None) -> str:
    if kind in KIND_COLORS:
        return KIND_COLORS[kind]
    spare = sorted(k for k in (seen or [kind]) if k not in KIND_COLORS)
    i = spare.index(kind) if kind in spare else 0
    return _SPARE_KIND_COLORS[i % len(_SPARE_KIND_COLORS)]


def _kind_order(kinds) -> list[str]:
    """Device kinds in the order of :data:`KIND_COLORS`, unknown ones last."""
    known = [k for k in KIND_COLORS if k in kinds]
    return known + sorted(k for k in kinds if k not in KIND_COLORS)


def _reason_color(reason: str, seen: list[str]) -> str:
    if reason in REASON_COLORS:
        return REASON_COLORS[reason]
    spare = sorted(r for r in seen if r not in REASON_COLORS)
    i = spare.index(reason) if reason in spare else 0
    return _SPARE_REASON_COLORS[i % len(_SPARE_REASON_COLORS)]


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


def _group_colors(modes: dict[str, str]) -> dict[str, Any]:
    """The mode's colour per group; further groups of the same mode get darker or lighter
    shades of it, so that their lines stay apart."""
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for group, mode in modes.items():
        base = _mode_color(mode)
        k = seen.get(mode, 0)
        seen[mode] = k + 1
        if k == 0:
            out[group] = base
        else:
            amount = 0.3 * ((k + 1) // 2)
            r, g, b = to_rgb(base)
            out[group] = (_lighten(base, amount) if k % 2 == 0 else
                          (r * (1 - amount), g * (1 - amount), b * (1 - amount)))
    return out


# ---- axes and text -------------------------------------------------------------------------

def _categories(ax, labels: list[str]) -> None:
    """Category ticks at 0, 1, ...; a lone bar stays bar-sized."""
    ax.set_xticks(range(len(labels)), labels)
    pad = 0.6 + max(0, 3 - len(labels)) / 2
    ax.set_xlim(-pad, len(labels) - 1 + pad)
    ax.grid(False, axis="x")


def _cat_width(n: int, per: float = 0.75, lo: float = 6.5, hi: float = 15.0) -> float:
    """Figure width (inches) for ``n`` categories."""
    return min(hi, max(lo, 3.5 + per * n))


def _num(x: float) -> str:
    """A value for a label: ``1,234`` or three significant digits.

    >>> _num(12345.6), _num(3.14159)
    ('12,346', '3.14')
    """
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _compact(x: float) -> str:
    """``350000`` -> ``350k``.

    >>> _compact(350000), _compact(2e6), _compact(12)
    ('350k', '2M', '12')
    """
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


def _wide(values) -> bool:
    """Whether positive ``values`` span more than a factor of 20 (a log axis then)."""
    vals = [x for x in values if x is not None and x > 0]
    return bool(vals) and max(vals) / min(vals) > _LOG_RATIO


def _log_ticks(axis, lo: float, hi: float) -> None:
    """Plain numbers (``30``, ``200``) on a log ``axis`` (``ax.xaxis`` or ``ax.yaxis``)
    instead of powers of ten; over less than a decade, labelled minor ticks too (else a
    narrow range shows no number at all)."""
    from matplotlib import ticker

    fmt = ticker.FuncFormatter(lambda x, _: _num(x))
    axis.set_major_formatter(fmt)
    if hi / lo < 10:
        axis.set_minor_locator(ticker.LogLocator(subs="all", numticks=12))
        axis.set_minor_formatter(fmt)
    else:
        axis.set_minor_locator(ticker.LogLocator(subs=(2, 5), numticks=12))
        axis.set_minor_formatter(fmt)


def _note(ax, x: float, text: str, y: float = 0.02) -> None:
    """Grey upright text at category ``x`` standing on the axis (for missing bars)."""
    ax.text(x, y, text, transform=ax.get_xaxis_transform(), rotation=90, ha="center",
            va="bottom", fontsize=7, color="#777777")
