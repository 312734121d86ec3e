"""Running tasks per instance, instances labelled and grouped by AZ and variant."""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import modes as _modes
from .data import _collapse, _mode, _one_line, _short_id
from .style import _figure, _legend, _mode_color, _mode_handles, _styled, _title

#: More bars than this: no count above each bar, instance labels turned upright.
_LABELLED_BARS = 30
_UPRIGHT_AFTER = 22


def _tasks_by_mode(inst: dict, fallback: str) -> dict[str, int]:
    """Running tasks of an instance per network mode (results without the per-mode count
    put them all under the variant's mode)."""
    return inst.get("tasks_by_mode") or ({fallback: inst["tasks"]} if inst["tasks"] else {})


def _groups(doc: dict) -> tuple[list[str], list[tuple[str, dict, list[dict]]]]:
    """Instance types, and (label, variant, instances ordered by AZ) per bar group: one
    group per instance type and variant; sweep points with the same placement once."""
    def signature(v):
        return tuple((i["type"], i.get("az"), i["tasks"], i["eni"]["used"],
                      i["branch_eni"]["used"]) for i in v["placement"]["instances"])

    cats = _collapse(doc["variants"], signature)
    types = list(dict.fromkeys(i["type"] for _, v in cats for i in v["placement"]["instances"]))
    groups = []
    for t in types:
        for lab, v in cats:
            insts = [i for i in v["placement"]["instances"] if i["type"] == t]
            if insts:
                insts = sorted(insts, key=lambda i: i.get("az") or "")  # stable: id order kept
                named = len(types) == 1 or t in lab.split("\n")
                groups.append((lab if named else f"{lab}\n{t}", v, insts))
    return types, groups


def _runs(insts: list[dict], start: float) -> list[tuple[str, float, float]]:
    """(AZ, first x, last x) of each run of instances in one AZ."""
    out: list[tuple[str, float, float]] = []
    for k, inst in enumerate(insts):
        az = inst.get("az") or "?"
        if out and out[-1][0] == az:
            out[-1] = (az, out[-1][1], start + k)
        else:
            out.append((az, start + k, start + k))
    return out


@_styled
def tasks_per_instance(doc: dict) -> Figure | None:
    """Running tasks on each instance, grouped by instance type and variant, and within
    a variant by Availability Zone.

    Each bar is one instance, labelled with the end of its id (as in ``placement.csv``);
    the AZ is written under its instances and the variant under its AZs. Tasks are
    stacked by network mode, in each mode's colour; a black bar marks each instance's
    task limit for a mode that has one (awsvpc: ENIs - 1, or its branch ENIs with
    trunking), where the variant runs tasks of that mode.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when no variant has an instance.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.tasks_per_instance({"variants": []}) is None
    True
    """
    variants = doc["variants"]
    if not any(v["placement"]["instances"] for v in variants):
        return None
    types, groups = _groups(doc)
    azs = sorted({i.get("az") or "?" for _, _, insts in groups for i in insts})
    fig, axes = _figure(_width(groups), 4.8)
    ax = axes[0]
    bars = _bars(groups)
    _draw_bars(ax, bars)
    _label_groups(ax, groups, bars, azs)
    full = [f"subnet {sn['name']} has no free IP ({sn['ips_used']}/{sn['usable']} used) in "
            f"{_one_line(lab)}"
            for lab, v, _ in groups for sn in v["placement"].get("subnets", [])
            if sn.get("usable") and sn.get("ips_free") == 0]
    full = list(dict.fromkeys(full))
    if full:
        ax.set_title("; ".join(full[:2]) + ("; ..." if len(full) > 2 else ""), loc="left",
                     fontweight="normal", color="#9c2a2a")
    where = [types[0]] if len(types) == 1 else []
    if len(azs) == 1:
        where.append(azs[0])
    if len(groups) == 1:
        where.append(_one_line(_variant_text(*groups[0][:2])))
    _title(fig, "Tasks per instance" + (f" ({', '.join(where)})" if where else ""))
    _legend(fig, _handles(bars, azs, groups), title="tasks by network mode")
    return fig


@dataclass
class _Bars:
    """Where each instance's bar goes and what it carries: tasks stacked by mode, the
    task limits of the modes its variant runs, the count written above it."""

    xs: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    limited: set[str] = field(default_factory=set)
    stacks: dict[str, tuple[list, list, list]] = field(default_factory=dict)  # x, h, bottom
    limit_lines: tuple[list, list, list] = ([], [], [])  # y, x0, x1
    labels: list[tuple[str, float, float]] = field(default_factory=list)  # text, x, y
    az_runs: list[tuple[str, float, float]] = field(default_factory=list)
    centres: list[float] = field(default_factory=list)
    end: float = 0.0  # right end of the last group
    upright: bool = False  # instance labels turned upright


_GAP, _BAR_WIDTH = 0.9, 0.8


def _bars(groups: list[tuple[str, dict, list[dict]]]) -> _Bars:
    """The bars of every group, left to right, a gap between groups."""
    nbars = sum(len(g[2]) for g in groups)
    out = _Bars(limit_lines=([], [], []), upright=nbars + len(groups) > _UPRIGHT_AFTER)
    x = 0.0
    for _, v, insts in groups:
        svc_modes = [s["network_mode"] for s in v["placement"]["services"]
                     if s.get("launch_type", "EC2") == "EC2"]  # Fargate is off the instances
        start = x
        for inst in insts:
            _bar(out, x, inst, _mode(v), svc_modes, nbars <= _LABELLED_BARS)
            x += 1
        out.az_runs += _runs(insts, start)
        out.centres.append((start + x - 1) / 2)
        x += _GAP
    out.end = x - _GAP
    return out


def _bar(out: _Bars, x: float, inst: dict, fallback: str, svc_modes: list[str],
         labelled: bool) -> None:
    """One instance's bar: its tasks stacked by mode, its limits, its count."""
    bottom = 0
    by_mode = _tasks_by_mode(inst, fallback)
    for mode, n in sorted(by_mode.items()):
        bx, bh, bb = out.stacks.setdefault(mode, ([], [], []))
        bx.append(x)
        bh.append(n)
        bb.append(bottom)
        out.modes.append(mode)
        bottom += n
    top, text = inst["tasks"], f"{inst['tasks']}"
    limits = {m: lim for m, lim in inst.get("task_limits", {}).items() if m in svc_modes}
    for mode, limit in limits.items():
        out.limit_lines[0].append(limit)
        out.limit_lines[1].append(x - _BAR_WIDTH / 2)
        out.limit_lines[2].append(x + _BAR_WIDTH / 2)
        out.limited.add(mode)
        top, text = max(top, limit), f"{by_mode.get(mode, 0)}/{limit}"
    if labelled:
        out.labels.append((text, x, top))
    out.xs.append(x)
    out.ids.append(_short_id(inst["id"]))


def _draw_bars(ax, bars: _Bars) -> None:
    for text, x, top in bars.labels:
        ax.annotate(text, (x, top), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7)
    for mode, (bx, bh, bb) in bars.stacks.items():
        ax.bar(bx, bh, bottom=bb, width=_BAR_WIDTH, color=_mode_color(mode),
               edgecolor="white", linewidth=0.6)
    if bars.limit_lines[0]:
        ax.hlines(*bars.limit_lines, color="black", linewidth=2.2, zorder=4)
    ax.set_xticks(bars.xs, bars.ids, fontsize=7, rotation=90 if bars.upright else 0)
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(-0.8, bars.end + 0.2)
    ax.grid(False, axis="x")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("running tasks per instance")
    ax.margins(y=0.08)


def _label_groups(ax, groups, bars: _Bars, azs: list[str]) -> None:
    """Under the instance labels: the AZ of each run of instances, then the variant."""
    below = (30 if bars.upright else 14)
    if len(azs) > 1:
        for az, x0, x1 in bars.az_runs:
            ax.annotate(az, ((x0 + x1) / 2, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, -below), textcoords="offset points", ha="center",
                        va="top", fontsize=7, color="#555555")
        below += 13
    if len(groups) > 1:
        for (lab, v, _), c in zip(groups, bars.centres, strict=True):
            ax.annotate(_variant_text(lab, v), (c, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, -below), textcoords="offset points", ha="center",
                        va="top", fontsize=8, fontweight="bold")


def _handles(bars: _Bars, azs: list[str], groups) -> list:
    """The legend: the modes' colours, the task limits drawn, how bars are labelled."""
    handles = _mode_handles(bars.modes)
    if bars.limited:
        names = "/".join(sorted(bars.limited))
        notes = "\n".join(f"({m}: {_modes.MODES[m].task_limit_note})"
                          for m in sorted(bars.limited)
                          if m in _modes.MODES and _modes.MODES[m].task_limit_note)
        handles.append(Line2D([], [], color="black", linewidth=2.2,
                              label=f"{names} task limit\n{notes};\nlabel: {names} "
                                    "tasks/limit".replace(", or ", ",\nor ")))
    rows = "the end of its instance id" + (", its AZ" if len(azs) > 1 else "") \
        + (", the variant" if len(groups) > 1 else "")
    handles.append(Patch(facecolor="none", edgecolor="none",
                         label=f"one bar per instance,\nlabelled with {rows}"
                         .replace(", its", ",\nits")))
    return handles


def _variant_text(label: str, v: dict) -> str:
    """A variant's label under its instances, a line per word (``type=c5.large`` and
    ``awsvpc_trunking=true`` one above the other); Fargate tasks run on none of them."""
    n = (v["placement"].get("fargate") or {}).get("tasks", 0)
    text = label.replace("\n", " ").replace(" ", "\n")
    return f"{text}\n(+{n} on Fargate)" if n else text


def _width(groups: list[tuple[str, dict, list[dict]]]) -> float:
    """Figure width (inches): room for each bar and its instance label, and for each
    variant's label under its bars (about 0.075 in a character)."""
    per = 0.42  # inches a bar
    for lab, v, insts in groups:
        longest = max(len(line) for line in _variant_text(lab, v).split("\n"))
        per = max(per, longest * 0.075 / (len(insts) + 0.9))
    units = sum(len(insts) for _, _, insts in groups) + 0.9 * len(groups)
    return min(16.0, max(6.5, 4.5 + per * units))
