"""Latency (and drops) against the swept load, one line per compare variant."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .data import (
    _flow,
    _flow_names,
    _flow_title,
    _flow_to,
    _groups,
    _mode,
    _short,
    _sweep_axis_label,
)
from .style import _compact, _figure, _group_colors, _legend, _styled, _title, _wide


def _log_label(label: str, log: bool) -> str:
    """An axis label that says when its axis is logarithmic.

    >>> _log_label("traffic[0].rate (packets/s)", True)
    'traffic[0].rate (packets/s, log scale)'
    >>> _log_label("desired_count", True), _log_label("x", False)
    ('desired_count (log scale)', 'x')
    """
    if not log:
        return label
    return label[:-1] + ", log scale)" if label.endswith(")") else label + " (log scale)"


@_styled
def overhead_vs_load(doc: dict) -> Figure | None:
    """Latency (mean and p99) against the swept value, one line per compare variant.

    Needs a sweep over a numeric field (two or more points). A second panel shows the
    share of packets dropped when any were.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when there is no sweep over a number with two or more
        points.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.overhead_vs_load({"variants": []}) is None
    True
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
        logy = _wide(values)
        if logy:
            ax.set_yscale("log")
        ax.set_ylabel("one-way latency (µs" + (", log scale)" if logy else ")"))
        ax.set_title(_flow_title(variants, name), loc="left")
        ax.grid(True, axis="both")
        if dropped:
            dax = drop_axes[col]
            dax.set_ylabel("packets dropped (%)")
            dax.set_ylim(bottom=0)
            dax.grid(True, axis="both")
        bottom = drop_axes[col] if dropped else ax
        logx = numbers[-1] / max(numbers[0], 1e-12) >= 10 and numbers[0] > 0
        bottom.set_xlabel(_log_label(_sweep_axis_label(variants), logx))
        if logx:
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
