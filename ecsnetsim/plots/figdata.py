"""What each figure shows, worked out from a results document without matplotlib.

Two things live here:

* :data:`APPLIES`: for every figure, whether the results hold something it would show.
  :func:`ecsnetsim.plots.write_all` asks this first and imports matplotlib only when some
  figure is to be drawn; each figure function asks the same question, so the two never
  disagree.
* the numbers of the latency and time-series figures as plain dataclasses
  (:func:`latency_spread`, :func:`latency_cdf`, :func:`over_time`): what is drawn where,
  testable without drawing it.

Every function takes the ``results.json`` document (a dict), as :func:`.data._doc` gives.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .data import (
    RESOLUTION_US,
    _collapse,
    _flow,
    _flow_names,
    _flow_panels,
    _label,
    _mode,
    _one_line,
    _pool,
    _short,
    eventful,
)

# ---- latency quantiles from a histogram ----------------------------------------------------


def hist_quantile(hist: dict, q: float, lo: float | None = None,
                  hi: float | None = None) -> float | None:
    """The ``q`` quantile (0..1) of a histogram ``{edges_us, counts}``: the bin where the
    cumulative count reaches ``q`` of the total, interpolated within it on a log scale
    (the bins are log-spaced), clamped to the exact ``lo``/``hi`` (min/max) when given.

    >>> h = {"edges_us": [1.0, 10.0, 100.0], "counts": [50, 50]}
    >>> hist_quantile(h, 0.5), round(hist_quantile(h, 0.75), 3)
    (10.0, 31.623)
    >>> hist_quantile({"edges_us": [1.0, 2.0], "counts": [0]}, 0.5) is None
    True
    """
    edges, counts = hist.get("edges_us") or [], hist.get("counts") or []
    total = sum(counts)
    if not total or len(edges) != len(counts) + 1:
        return None
    target, seen = q * total, 0.0
    for k, n in enumerate(counts):
        if n and seen + n >= target:
            a, b = edges[k], edges[k + 1]
            frac = (target - seen) / n
            x = a * (b / a) ** frac if a > 0 else a + (b - a) * frac
            break
        seen += n
    else:
        x = edges[-1]
    if lo is not None:
        x = max(x, lo)
    if hi is not None:
        x = min(x, hi)
    return x


def hist_cdf(hist: dict) -> tuple[list[float], list[float]]:
    """(x, F(x)) at the upper edge of each non-empty bin (and the first bin's lower edge
    at 0): the empirical CDF a step line draws.

    >>> hist_cdf({"edges_us": [1.0, 2.0, 4.0, 8.0], "counts": [1, 0, 3]})
    ([1.0, 2.0, 8.0], [0.0, 0.25, 1.0])
    """
    edges, counts = hist.get("edges_us") or [], hist.get("counts") or []
    total = sum(counts)
    if not total or len(edges) != len(counts) + 1:
        return [], []
    first = next(k for k, n in enumerate(counts) if n)
    xs, ys, seen = [edges[first]], [0.0], 0
    for k in range(first, len(counts)):
        if counts[k]:
            seen += counts[k]
            xs.append(edges[k + 1])
            ys.append(seen / total)
    return xs, ys


# ---- latency_by_mode: each variant's spread ------------------------------------------------

#: The quantiles a box shows when the flow has a histogram: box p25-p75, whiskers p1-p99.
BOX_QUANTILES = (("p1", 0.01), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p99", 0.99))


@dataclass
class Spread:
    """One variant's one-way latency (µs) in a panel: ``quantiles`` by name (``p1``,
    ``p25``, ``p50``, ``p75``, ``p99`` from the histogram, else the ``p50``/``p90``/``p99``
    the results give), the exact mean, min, max and p99.9 when known."""

    label: str
    mode: str | None
    mean: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    p999: float | None = None
    ci: tuple[float, float] | None = None
    boxed: bool = False
    note: str | None = None  # why nothing is drawn ("no packets delivered", ...)


@dataclass
class SpreadPanel:
    title: str
    spreads: list[Spread]


@dataclass
class LatencySpread:
    panels: list[SpreadPanel]


def _spread(label: str, v: dict, name: str) -> Spread:
    f = _flow(v, name)
    lat = (f or {}).get("latency_us") or {}
    mode = _mode(v, f["to"]) if f else None
    if lat.get("p50") is None:
        return Spread(label, mode, note="no packets delivered" if f else "no such flow")
    ci = ((f or {}).get("ci95") or {}).get("latency_mean_us")
    out = Spread(label, mode, mean=lat.get("mean"), low=lat.get("min"), high=lat.get("max"),
                 p999=lat.get("p999"), ci=tuple(ci) if ci else None)
    hist = lat.get("hist")
    qs = {k: hist_quantile(hist, q, out.low, out.high) for k, q in BOX_QUANTILES} \
        if hist else {}
    if qs and all(x is not None for x in qs.values()):
        out.quantiles, out.boxed = qs, True
    else:
        out.quantiles = {k: lat[k] for k in ("p50", "p90", "p99") if lat.get(k) is not None}
    return out


def latency_spread(doc: dict) -> LatencySpread | None:
    """Each variant's latency spread per flow panel, or None when no packet of any flow
    was delivered."""
    variants = doc["variants"]
    flows = [n for n in _flow_names(variants)
             if any((_flow(v, n) or {}).get("latency_us", {}).get("p50") is not None
                    for v in variants)]
    if not flows:
        return None
    panels = _flow_panels(variants, flows, [[(_label(v), v) for v in variants]] * len(flows))
    return LatencySpread([SpreadPanel(title, [_spread(lab, v, name) for lab, v, name in cats])
                          for title, cats in panels])


# ---- latency_cdf ---------------------------------------------------------------------------

@dataclass
class Curve:
    """One variant's CDF of one flow: ``xs`` (µs, upper bin edges), ``ys`` (0..1)."""

    label: str
    group: str
    mode: str
    xs: list[float]
    ys: list[float]
    delivered: int
    p50: float | None = None
    p99: float | None = None


@dataclass
class CdfPanel:
    title: str
    curves: list[Curve]


@dataclass
class LatencyCdf:
    panels: list[CdfPanel]
    #: compare group -> network mode, for the colours
    groups: dict[str, str]


def latency_cdf(doc: dict) -> LatencyCdf | None:
    """A CDF per variant and flow from the flows' latency histograms, or None when no
    flow with delivered packets has a histogram (results written before histograms)."""
    variants = doc["variants"]
    panels, groups = [], {}
    for name in _flow_names(variants):
        curves = []
        def same(v, name=name):  # sweep points with the same latencies: one curve
            return repr((_flow(v, name) or {}).get("latency_us"))

        for lab, v in _collapse(variants, same):
            f = _flow(v, name)
            lat = (f or {}).get("latency_us") or {}
            xs, ys = hist_cdf(lat.get("hist") or {})
            if not xs:
                continue
            group = v.get("group", v["name"])
            groups.setdefault(group, _mode(v, f["to"]))
            curves.append(Curve(_one_line(lab), group, _mode(v, f["to"]), xs, ys,
                                f["delivered"], lat.get("p50"), lat.get("p99")))
        if curves:
            f0 = next(f for v in variants for f in v.get("flows", []) if f["name"] == name)
            panels.append(CdfPanel(f"flow {name}: {f0['from']} \u2192 {f0['to']} via "
                                   f"{f0['via']}", curves))
    return LatencyCdf(panels, groups) if panels else None


# ---- over_time -----------------------------------------------------------------------------

#: At most this many variants side by side in ``over_time`` (the most eventful first).
OVER_TIME_VARIANTS = 3
#: Devices whose queue length is drawn, per variant (the longest mean queue first).
OVER_TIME_DEVICES = 4
#: The queue row of ``over_time`` is drawn when some device's mean queue reaches this
#: (packets) in a window: below it every device is idle and the row would show noise.
QUEUE_SHOWN = 0.5


@dataclass
class Series:
    """One flow's or device's windows: start times (s) and the values per window."""

    name: str
    t: list[float]
    values: dict[str, list[float | None]]
    #: each window's length (s): the last may be cut short by the run's end
    w: list[float] = field(default_factory=list)


@dataclass
class VariantSeries:
    label: str
    name: str
    window_s: float
    flows: list[Series]
    devices: list[Series]
    #: (time, what) of deployments starting and instance events, to mark
    marks: list[tuple[float, str]]


@dataclass
class OverTime:
    """The variants shown: those whose windows change, the most eventful first, at most
    :data:`OVER_TIME_VARIANTS`."""

    variants: list[VariantSeries]
    #: variants that change but are not shown (more than OVER_TIME_VARIANTS)
    left_out: int = 0
    #: variants with a time series in which nothing changes (not shown)
    steady: int = 0


def timeseries_by_variant(res) -> dict[str, list[dict]]:
    """The time-series rows of a result set by variant name: the document's per-variant
    ``timeseries`` lists, else its top-level list or a :class:`Results`' ``timeseries``
    table (rows with a ``variant`` column)."""
    doc = res.document if hasattr(res, "document") else res
    out = {v["name"]: v["timeseries"] for v in doc.get("variants", []) if v.get("timeseries")}
    if out:
        return out
    rows = doc.get("timeseries") or (getattr(res, "timeseries", None)
                                     if hasattr(res, "document") else None) or []
    for r in rows:
        out.setdefault(str(r.get("variant")), []).append(r)
    return out


def _num(x) -> float | None:
    """A cell as a number: None for an empty cell (a CSV row's '' or a JSON null)."""
    if x is None or x == "":
        return None
    if type(x) is float or type(x) is int:  # noqa: E721 (JSON numbers: the common case)
        return x if math.isfinite(x) else None
    try:
        y = float(x)
    except (TypeError, ValueError):
        return None
    return y if math.isfinite(y) else None


_FLOW_FIELDS = ("sent", "delivered", "dropped", "unreachable", "latency_mean_us",
                "latency_p99_us")


def _series(rows: list[dict], kind: str, fields: tuple[str, ...]) -> list[Series]:
    """The rows of ``kind`` as one :class:`Series` per name, in time order."""
    out: dict[str, Series] = {}
    mine = [r for r in rows if r.get("kind") == kind]
    starts = [_num(r.get("t_start_s")) or 0.0 for r in mine]
    if any(b < a for a, b in zip(starts, starts[1:], strict=False)):
        order = sorted(range(len(mine)), key=starts.__getitem__)
        mine, starts = [mine[k] for k in order], [starts[k] for k in order]
    for r, t in zip(mine, starts, strict=True):
        name = str(r["name"])
        s = out.get(name)
        if s is None:
            s = out[name] = Series(name, [], {f: [] for f in fields})
        s.t.append(t)
        s.w.append(_num(r.get("window_s")) or 0.0)
        for f in fields:
            s.values[f].append(_num(r.get(f)))
    return list(out.values())


def _window(series: list[Series], rows: list[dict] = ()) -> float:
    """The window length (s): the rows' most common ``window_s`` (the last window may be
    cut short by the run's end), else the smallest step between two windows."""
    given = Counter(w for w in (_num(r.get("window_s")) for r in rows) if w)
    if given:
        return given.most_common(1)[0][0]
    steps = [b - a for s in series for a, b in zip(s.t, s.t[1:], strict=False) if b > a]
    return min(steps, default=0.1)


#: Full windows a flow needs for ``over_time``: fewer show no course over time.
MIN_WINDOWS = 3


def _full(s: Series, window: float) -> Series:
    """``s`` without a last window cut short by the run's end (its counts are not
    comparable with the others')."""
    if s.w and s.w[-1] and s.w[-1] < window * 0.999:
        return Series(s.name, s.t[:-1], {k: v[:-1] for k, v in s.values.items()}, s.w[:-1])
    return s


def _moves(s: Series) -> bool:
    """Whether a flow's windows show change rather than noise: drops in a window, packets
    that cannot arrive in some windows and not in others, a rate
    that moves more than Poisson noise (beyond 6 standard deviations and a quarter of its
    median) or a mean latency that changes by more than half, between full windows
    (:func:`_full`)."""
    if any((d or 0) > 0 for d in s.values["dropped"]):
        return True
    if len({bool(u) for u in s.values["unreachable"]}) > 1:  # a route that comes and goes
        return True
    for key in ("sent", "delivered"):
        xs = sorted(x for x in s.values[key] if x is not None)
        if len(xs) >= 2:
            med = xs[len(xs) // 2]
            if xs[-1] - xs[0] > max(6 * math.sqrt(max(med, 1.0)), 0.25 * med):
                return True
    lat = [x for x in s.values["latency_mean_us"] if x]
    return len(lat) >= 2 and max(lat) > 1.5 * min(lat)


def _marks(v: dict) -> list[tuple[float, str]]:
    marks = [(float(d["started_at"]), f"deploy {d.get('service', '')}".rstrip())
             for d in v.get("deployments") or []]
    for e in v.get("placement", {}).get("events") or []:
        if e.get("kind"):
            marks.append((float(e["t"]), str(e["kind"])))
    return sorted(set(marks))


def _variant_series(name: str, rows: list[dict], v: dict, labelled: bool):
    """(score, VariantSeries without devices) of one variant, or None when its flows
    have fewer than :data:`MIN_WINDOWS` full windows. The score: flows that change plus
    events within the windows, then packets dropped."""
    flows = _series(rows, "flow", _FLOW_FIELDS)
    window = _window(flows, rows)
    if not any(len(_full(s, window).t) >= MIN_WINDOWS for s in flows):
        return None
    t0 = min(s.t[0] for s in flows)
    t1 = max(s.t[-1] + (s.w[-1] or window) for s in flows)
    marks = [(t, w) for t, w in _marks(v) if t0 <= t <= t1]
    score = (sum(_moves(_full(s, window)) for s in flows) + len(marks),
             sum(d or 0 for s in flows for d in s.values["dropped"]))
    label = _label(v) if labelled else _short(name)
    return score, VariantSeries(_one_line(label), name, window, flows, [], marks)


def over_time(res, first: bool = False) -> OverTime | None:
    """The windows of each variant's flows and busiest devices, or None when there are
    none (results written before time series) or nothing in them changes: drawn when a
    flow's windows move beyond noise (:func:`_moves`) or a deployment or instance event
    falls inside the windows. ``first``: stop at the first variant that changes (enough
    to know that the figure applies; its devices are not read)."""
    doc = res.document if hasattr(res, "document") else res
    by_variant = {v["name"]: v for v in doc.get("variants", [])}
    picked = []
    for name, rows in timeseries_by_variant(res).items():
        v = by_variant.get(name, {"name": name})
        got = _variant_series(name, rows, v, bool(v.get("placement")))
        if got is None:
            continue
        if first and got[0][0]:
            return OverTime([got[1]])
        picked.append((got, rows))
    eventful_ = [p for p in picked if p[0][0][0]]
    if not eventful_:
        return None
    shown = sorted(eventful_, key=lambda p: (-p[0][0][0], -p[0][0][1]))[:OVER_TIME_VARIANTS]
    order = [got[1].name for got, _ in picked]
    shown.sort(key=lambda p: order.index(p[0][1].name))
    for (_, vs), rows in shown:  # the busiest devices of the variants shown only
        devices = _series(rows, "device", ("queue_len",))
        vs.devices = sorted(devices, key=lambda d: (-sum(x or 0 for x in d.values["queue_len"]),
                                                    d.name))[:OVER_TIME_DEVICES]
    return OverTime([vs for (_, vs), _ in shown], left_out=len(eventful_) - len(shown),
                    steady=len(picked) - len(eventful_))


def rates(s: Series, key: str, window: float) -> list[float | None]:
    """A count per window as a rate (per s of each window's own length)."""
    return [None if x is None else x / (w or window)
            for x, w in zip(s.values[key], s.w or [window] * len(s.t), strict=True)]


# ---- which figures apply -------------------------------------------------------------------

def _has_flows(doc: dict) -> bool:
    return bool(_flow_names(doc["variants"]))


def _delivered(doc: dict) -> bool:
    return any((f.get("latency_us") or {}).get("p50") is not None
               for v in doc["variants"] for f in v.get("flows", []))


def overhead_rows(doc: dict) -> list[dict]:
    """The comparison rows ``overhead_by_device`` draws: those that differ from their
    baseline by more than :data:`RESOLUTION_US` (or have no delivered packets). A flow
    that takes the same path as in the baseline at the same mean latency differs in
    nothing a device costs, whatever its per-kind split says (which devices of a kind
    carried the packets, e.g. another task set's ENIs): no bar is drawn for it.

    >>> def v(name, path):
    ...     return {"name": name, "flows": [{"name": "f", "path": path}]}
    >>> row = {"name": "f", "variant": "b", "baseline_variant": "a", "extra_hops": 0.0,
    ...        "latency_overhead_us": {"mean": 0.0}, "overhead_by_kind_us": {"eni": 0.08}}
    >>> doc = {"variants": [v("a", ["eni"]), v("b", ["eni"])], "comparison": {"flows": [row]}}
    >>> overhead_rows(doc)
    []
    """
    paths = {(v["name"], f["name"]): f.get("path") for v in doc["variants"]
             for f in v.get("flows") or []}

    def above(row: dict) -> bool:
        kinds = row.get("overhead_by_kind_us") or {}
        net = (row.get("latency_overhead_us") or {}).get("mean") or 0.0
        if abs(net) >= RESOLUTION_US or row.get("extra_hops"):
            return True
        mine = paths.get((row.get("variant"), row["name"]))
        same = mine is not None and mine == paths.get((row.get("baseline_variant"),
                                                       row["name"]))
        return not same and any(abs(d) >= RESOLUTION_US for d in kinds.values())

    comp = doc.get("comparison") or {}
    rows = [r for r in comp.get("flows", []) if r.get("latency_overhead_us") is None
            or above(r)]
    return rows if any(r.get("latency_overhead_us") for r in rows) else []


def _swept(doc: dict) -> bool:
    variants = [v for v in doc["variants"] if v.get("sweep")
                and v["sweep"].get("number") is not None]
    return len({v["sweep"]["number"] for v in variants}) >= 2 and bool(_flow_names(variants))


def placement_settled(doc: dict) -> bool:
    """Whether every service of every variant simply runs its desired count: nothing
    pending, nothing failed to start or stopped, no deployment left above desired (the
    text summary says "N/N running"; a figure of full bars adds nothing)."""
    for v in doc["variants"]:
        for s in v["placement"]["services"]:
            if (s["running"] != s["desired"] or s["pending"] or s["failures"]
                    or s.get("launch_failures") or s.get("stopped")):
                return False
    return True


def _placement(doc: dict) -> bool:
    return any(v["placement"]["services"] for v in doc["variants"]) \
        and not placement_settled(doc)


def _tasks(doc: dict) -> bool:
    """Instances to show, and a placement worth a look: an instance runs two tasks or
    more, or some service is not simply at its desired count (one task on each of a few
    instances is what the summary's "tasks per instance: 1 1" already says)."""
    insts = [i for v in doc["variants"] for i in v["placement"]["instances"]]
    return bool(insts) and (any(i["tasks"] > 1 for i in insts) or not placement_settled(doc))


def _fate(doc: dict) -> bool:
    return any(f.get("unreachable") or f.get("blocked") or f.get("drops")
               for v in doc["variants"] for f in v.get("flows", []))


#: The busiest device must be at least this busy (a share of the measured window) for
#: ``device_utilization`` to be drawn, unless a device dropped packets: below it every
#: bar is a sliver and the figure only says the devices are idle.
BUSY = 0.01


def _busy(doc: dict) -> bool:
    devs = [d for v in doc["variants"] for d in v.get("devices") or []]
    return any(d["utilization"] >= BUSY or (d["drops"] and not _pool(d["kind"]))
               for d in devs)


#: Figure name -> whether the results hold something it shows (cheap, no matplotlib).
APPLIES: dict[str, Callable[[dict], bool]] = {
    "hops_by_mode": _has_flows,
    "latency_by_mode": _delivered,
    "latency_cdf": lambda doc: latency_cdf(doc) is not None,
    "overhead_by_device": lambda doc: bool(overhead_rows(doc)),
    "overhead_vs_load": _swept,
    "tasks_per_instance": _tasks,
    "placement_outcome": _placement,
    "packet_fate": _fate,
    "device_utilization": _busy,
    "deployment_timeline": lambda doc: any(eventful(v) for v in doc["variants"]
                                           if v.get("timeline")),
    "over_time": lambda res: over_time(res, first=True) is not None,
}


__all__ = ["APPLIES", "BOX_QUANTILES", "BUSY", "CdfPanel", "Curve", "LatencyCdf",
           "LatencySpread", "OverTime", "Series", "Spread", "SpreadPanel", "VariantSeries",
           "MIN_WINDOWS", "OVER_TIME_DEVICES", "OVER_TIME_VARIANTS", "QUEUE_SHOWN", "hist_cdf",
           "hist_quantile", "latency_cdf", "latency_spread", "over_time",
           "overhead_rows", "placement_settled", "rates", "timeseries_by_variant"]
