"""Each flow and the busiest devices window by window: a burst, a deployment or a drain
as it happens."""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .data import Source, _doc
from .figdata import QUEUE_SHOWN, OverTime, Series, VariantSeries, rates
from .figdata import over_time as _over_time_data
from .style import STYLE, _figure, _fit, _legend, _title, _wide

_FLOW_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#9c755f", "#76b7b2")
_DEVICE_COLORS = ("#e15759", "#4e79a7", "#edc948", "#79706e")
_MARK = {"color": "#555555", "linestyle": "-.", "linewidth": 0.9}
#: Packets that did not arrive, per window: their line style.
_LOST = {"dropped": {"linestyle": "--"}, "unreachable": {"linestyle": ":"}}


def _step(ax, s: Series, ys: list[float | None], window: float, scale: float,
          **style) -> None:
    """Values per window as steps spanning each window (a gap where a value is None)."""
    t = s.t
    xs = [x / scale for x in t] + [(t[-1] + (s.w[-1] if s.w else window)) / scale]
    vals = [float("nan") if y is None else y for y in ys]
    ax.step(xs, vals + vals[-1:], where="post", **style)


def _flows(ax_rate, ax_lat, vs: VariantSeries, scale: float, colors: dict) -> list[float]:
    lat_values = []
    for s in vs.flows:
        c = colors[s.name]
        _step(ax_rate, s, rates(s, "delivered", vs.window_s), vs.window_s, scale, color=c,
              linewidth=1.6)
        for key, style in _LOST.items():  # packets sent that did not arrive, when any
            if any(s.values[key]):
                _step(ax_rate, s, rates(s, key, vs.window_s), vs.window_s, scale,
                      color=c, linewidth=1.2, **style)
        for key, style in (("latency_mean_us", "-"), ("latency_p99_us", "--")):
            _step(ax_lat, s, s.values[key], vs.window_s, scale, color=c, linestyle=style,
                  linewidth=1.4)
            lat_values += [x for x in s.values[key] if x]
    return lat_values


def _devices(ax, vs: VariantSeries, scale: float) -> None:
    for k, d in enumerate(vs.devices):
        _step(ax, d, d.values["queue_len"], vs.window_s, scale,
              color=_DEVICE_COLORS[k % len(_DEVICE_COLORS)], linewidth=1.3,
              label=d.name.rsplit("/", 2)[-2] + "/" + d.name.rsplit("/", 1)[-1]
              if d.name.count("/") >= 2 else d.name)
    if vs.devices:
        ax.legend(loc="upper left", fontsize=6, frameon=True, framealpha=0.8,
                  title="busiest devices", title_fontsize=6)


def _marks(axes: list, vs: VariantSeries, scale: float) -> bool:
    """A line at each deployment and instance event; its label unless it would run into
    the previous one (within a twentieth of the span)."""
    flows = vs.flows[0]
    span = (flows.t[-1] - flows.t[0]) or 1.0
    last = None
    for t, what in vs.marks:
        for ax in axes:
            ax.axvline(t / scale, zorder=1, **_MARK)
        if last is None or t - last > span / 20:
            axes[0].annotate(what, (t / scale, 1.0), xycoords=("data", "axes fraction"),
                             xytext=(3, -3), textcoords="offset points", va="top",
                             fontsize=7, color="#333333")
            last = t
    return bool(vs.marks)


def draw(data: OverTime) -> Figure:
    """The figure of :func:`.figdata.over_time`'s numbers: per variant (a column) the
    flows' packets per second (delivered, and dropped or unreachable when any), their
    mean and p99 latency, and the busiest devices' queues when some device queues."""
    ncols = len(data.variants)
    queues = any((x or 0) >= QUEUE_SHOWN for vs in data.variants for d in vs.devices
                 for x in d.values["queue_len"])
    nrows = 3 if queues else 2
    fig, axes = _figure(max(6.5, 1.8 + 3.6 * ncols), 1.0 + 2.3 * nrows, nrows=nrows,
                        ncols=ncols, sharex="col", sharey="row")
    for ax in axes:  # few ticks: every tick is a line and a label to lay out and draw
        ax.locator_params(axis="y", nbins=4)
        ax.locator_params(axis="x", nbins=6)
    names = list(dict.fromkeys(s.name for vs in data.variants for s in vs.flows))
    colors = {n: _FLOW_COLORS[k % len(_FLOW_COLORS)] for k, n in enumerate(names)}
    span = max(vs.flows[0].t[-1] + vs.window_s - vs.flows[0].t[0] for vs in data.variants)
    scale, unit = (60.0, "min") if span > 600 else (1.0, "s")
    lat_values, marked = [], False
    lost = {key for vs in data.variants for s in vs.flows for key in _LOST if any(s.values[key])}
    for col, vs in enumerate(data.variants):
        column = axes[col::ncols]
        lat_values += _flows(column[0], column[1], vs, scale, colors)
        if queues:
            _devices(column[2], vs, scale)
        marked = _marks(column, vs, scale) or marked
        column[0].set_title(f"variant {vs.label}", loc="left")
        column[-1].set_xlabel(f"simulated time ({unit}); windows of "
                              f"{vs.window_s * 1000:g} ms")
        for ax in column:
            ax.grid(True, axis="both")
    log = _wide(lat_values)
    if log:
        axes[ncols].set_yscale("log")
    axes[0].set_ylabel("packets/s per window")
    axes[0].set_ylim(bottom=0)
    axes[ncols].set_ylabel("one-way latency\n(µs" + (", log scale)" if log else ")"))
    if not log:
        axes[ncols].set_ylim(bottom=0)
    if queues:
        peak = max(x or 0 for vs in data.variants for d in vs.devices
                   for x in d.values["queue_len"])
        axes[2 * ncols].set_ylabel("queue length\n(packets, mean in the window)")
        # at least one packet high: a queue below one packet is an idle device, not a cause
        axes[2 * ncols].set_ylim(0, max(1.0, 1.1 * peak))
    title = "Over time, window by window"
    if data.left_out:
        title += (f": the {len(data.variants)} most eventful of the "
                  f"{len(data.variants) + data.left_out} variants that change")
    if data.steady:
        title += f" ({data.steady} steady variant{'s' if data.steady > 1 else ''} not shown)"
    _title(fig, title)
    _legend(fig, _handles(colors, lost, marked), title="flow / statistic")
    return fig


def _handles(colors: dict, lost: set[str], marked: bool) -> list:
    grey = "#555555"
    handles = [Line2D([], [], color=c, linewidth=3, label=f"flow {n}")
               for n, c in colors.items()]
    handles.append(Line2D([], [], color=grey, label="delivered (packets/s)"))
    handles += [Line2D([], [], color=grey, label=f"{key} (packets/s)", **style)
                for key, style in _LOST.items() if key in lost]
    handles += [Line2D([], [], color=grey, label="mean latency"),
                Line2D([], [], color=grey, linestyle="--", label="p99 latency")]
    if marked:
        handles.append(Line2D([], [], label="deployment or\ninstance event", **_MARK))
    return handles


def over_time(res: Source) -> Figure | None:
    """Each flow and the busiest devices window by window (``timeseries.csv``): packets
    delivered per second (and dropped, or unreachable, when any were), mean and p99
    latency, and the queue length of the busiest devices when one queues (half a packet
    on average in a window), one column per variant whose windows change (the three most
    eventful), deployments and instance events marked.

    Drawn when something changes over the run: a flow's rate or latency moves beyond
    noise, a window drops packets, or a deployment or instance event happens while
    traffic flows. A steady flow gives flat lines that the summary already states.

    Parameters
    ----------
    res : Results or dict
        The results of :func:`ecsnetsim.simulate`, or their ``results.json`` document.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure, or None when the results have no time series (an older version) or
        nothing in it changes.

    Examples
    --------
    >>> from ecsnetsim import plots
    >>> plots.over_time({"variants": []}) is None
    True
    """
    _doc(res)  # a Results or a results document, or a TypeError
    data = _over_time_data(res)
    if data is None:
        return None
    with mpl.rc_context(STYLE):
        fig = draw(data)
        _fit(fig)
    return fig


def data(res: Source) -> OverTime | None:
    """The numbers :func:`over_time` draws (:func:`.figdata.over_time`)."""
    _doc(res)
    return _over_time_data(res)
