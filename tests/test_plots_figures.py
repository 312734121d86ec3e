"""The latency spread, latency CDF and over-time figures, checked against their numbers
(worked out without matplotlib), on small synthetic results documents; and the figure
defects that must not come back (a label under a marker, an unsaid log axis, failed
starts above the desired line, an event on the y axis, look-alike colours).
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys

import pytest
from matplotlib.lines import Line2D

from ecsnetsim import plots
from ecsnetsim.plots import figdata

EDGES = [10 * 10 ** (k / 20) for k in range(41)]  # 10 to 1000 µs, 20 bins a decade


def hist(counts_at: dict[int, int]) -> dict:
    counts = [0] * (len(EDGES) - 1)
    for k, n in counts_at.items():
        counts[k] = n
    return {"edges_us": EDGES, "counts": counts}


def flow(name="ingress", to="web", h=None, delivered=100, **lat) -> dict:
    latency = {"mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    latency.update(lat)
    if h is not None:
        latency["hist"] = h
    return {"name": name, "from": "client", "to": to, "via": "direct", "sent": delivered,
            "delivered": delivered, "dropped": 0, "unreachable": 0, "in_flight": 0,
            "hops": {"mean": 3, "min": 3, "max": 3}, "latency_us": latency,
            "path": ["host_stack", "eni", "vpc_fabric"], "blocked": None}


def variant(name, mode="awsvpc", flows=(), series=None, **extra) -> dict:
    v = {"name": name, "group": name, "sweep": None, "overrides": {},
         "placement": {"services": [{"name": "web", "network_mode": mode, "desired": 2,
                                     "running": 2, "pending": 0, "failures": {}}],
                       "instances": [], "events": []},
         "flows": list(flows), "devices": [], "deployments": [], "timeline": []}
    if series is not None:
        v["timeseries"] = series
    v.update(extra)
    return v


def two_modes() -> dict:
    """awsvpc narrow around 35 µs; bridge with a tail out to 950 µs."""
    narrow = hist({10: 50, 11: 40, 12: 10})
    tail = hist({10: 30, 11: 40, 12: 20, 30: 9, 39: 1})
    return {"variants": [
        variant("awsvpc", "awsvpc", [flow(h=narrow, mean=31.0, p50=32.0, p90=36.0, p99=39.0,
                                          min=31.6, max=39.8, p999=39.8)]),
        variant("bridge", "bridge", [flow(h=tail, mean=70.0, p50=35.0, p90=300.0, p99=400.0,
                                          min=31.6, max=950.0, p999=940.0)]),
    ]}


# ---- the numbers ------------------------------------------------------------------------------

def test_histogram_quantiles_and_cdf_follow_the_counts():
    h = hist({10: 50, 20: 50})  # half in 31.6-35.5 µs, half in 100-112 µs
    assert figdata.hist_quantile(h, 0.25) == pytest.approx((EDGES[10] * EDGES[11]) ** 0.5)
    assert figdata.hist_quantile(h, 0.5) == pytest.approx(EDGES[11])
    assert EDGES[20] < figdata.hist_quantile(h, 0.9) < EDGES[21]
    assert figdata.hist_quantile(h, 0.99, hi=105.0) == 105.0  # clamped to the exact max
    xs, ys = figdata.hist_cdf(h)
    assert xs == [EDGES[10], EDGES[11], EDGES[21]] and ys == [0.0, 0.5, 1.0]
    assert figdata.hist_quantile({"edges_us": [1, 2, 3], "counts": [1]}, 0.5) is None


def test_latency_spread_boxes_from_the_histogram_else_points():
    doc = two_modes()
    older = copy.deepcopy(doc)
    del older["variants"][1]["flows"][0]["latency_us"]["hist"]
    for d, boxed in ((doc, [True, True]), (older, [True, False])):
        (panel,) = figdata.latency_spread(d).panels
        assert [s.boxed for s in panel.spreads] == boxed
    awsvpc, bridge = figdata.latency_spread(doc).panels[0].spreads
    assert bridge.quantiles["p99"] > 5 * bridge.quantiles["p50"]  # the tail shows
    assert awsvpc.quantiles["p99"] < 40
    assert bridge.mean == 70.0 and bridge.p999 == 940.0
    (panel,) = figdata.latency_spread(older).panels
    assert panel.spreads[1].quantiles == {"p50": 35.0, "p90": 300.0, "p99": 400.0}


def test_latency_cdf_per_variant_skipped_without_histograms():
    data = figdata.latency_cdf(two_modes())
    (panel,) = data.panels
    assert [c.label for c in panel.curves] == ["awsvpc", "bridge"]
    for c in panel.curves:
        assert c.ys[-1] == 1.0 and c.ys == sorted(c.ys) and c.xs == sorted(c.xs)
    older = two_modes()
    for v in older["variants"]:
        del v["flows"][0]["latency_us"]["hist"]
    assert figdata.latency_cdf(older) is None
    assert plots.latency_cdf(older) is None and "latency_cdf" not in plots.applicable(older)


def windows(name, kind="flow", n=20, burst=(), drop=(), queue=0.0, **fields) -> list[dict]:
    rows = []
    for w in range(n):
        sent = 200 + (800 if w in burst else 0)
        row = {"kind": kind, "name": name, "t_start_s": round(2 + 0.1 * w, 3)}
        if kind == "flow":
            row.update(sent=sent, delivered=sent - (50 if w in drop else 0),
                       dropped=50 if w in drop else 0,
                       latency_mean_us=30.0 + (40 if w in burst else 0),
                       latency_p99_us=45.0 + (200 if w in burst else 0), queue_len=None)
        else:
            row.update(sent=None, delivered=None, dropped=None, latency_mean_us=None,
                       latency_p99_us=None, queue_len=queue + (9 if w in burst else 0))
        row.update(fields)
        rows.append(row)
    return rows


def test_over_time_only_when_something_changes():
    steady = {"variants": [variant("a", series=windows("ingress"))]}
    assert figdata.over_time(steady) is None  # flat lines: the summary says as much
    burst = {"variants": [variant("a", series=windows("ingress", burst=range(8, 11))
                                  + windows("h/eni", "device", burst=range(8, 11))),
                          variant("b", series=windows("ingress"))]}
    data = figdata.over_time(burst)
    assert [v.name for v in data.variants] == ["a"] and data.steady == 1  # b: steady
    (f,) = data.variants[0].flows
    assert f.values["sent"][8] == 1000 and f.t[0] == 2.0
    assert data.variants[0].window_s == pytest.approx(0.1)
    assert data.variants[0].devices[0].values["queue_len"][9] == 9
    dropped = {"variants": [variant("a", series=windows("ingress", drop={5}))]}
    assert figdata.over_time(dropped) is not None
    gap = windows("ingress")  # no healthy target for a while: packets cannot arrive
    for r in gap[5:9]:
        r.update(delivered=0, unreachable=r["sent"], latency_mean_us=None,
                 latency_p99_us=None)
    fig = plots.over_time({"variants": [variant("a", series=gap)]})
    assert "unreachable (packets/s)" in [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(fig.axes) == 2  # no device queues: no queue row
    deploy = {"variants": [variant("a", series=windows("ingress"), deployments=[
        {"service": "web", "started_at": 2.5, "finished_at": 3.0, "status": "COMPLETED"}])]}
    assert figdata.over_time(deploy).variants[0].marks == [(2.5, "deploy web")]
    assert figdata.over_time({"variants": [variant("a")]}) is None  # older results
    short = {"variants": [variant("a", series=windows("ingress", n=3, drop={1}))]}
    short["variants"][0]["timeseries"][-1]["window_s"] = 0.05  # cut by the run's end
    for r in short["variants"][0]["timeseries"][:-1]:
        r["window_s"] = 0.1
    assert figdata.over_time(short) is None  # two full windows show no course


def test_over_time_shows_the_most_eventful_variants():
    vs = [variant(f"v{k}", series=windows("ingress", burst=range(8, 8 + k))) for k in range(6)]
    vs[5]["timeseries"] = windows("ingress", burst={9}, drop={9})  # the most drops
    data = figdata.over_time({"variants": vs})
    assert len(data.variants) == figdata.OVER_TIME_VARIANTS
    assert data.left_out == 5 - figdata.OVER_TIME_VARIANTS and data.steady == 1  # v0
    assert "v5" in [v.name for v in data.variants]
    assert "v0" not in [v.name for v in data.variants]  # the steady one is left out


def test_top_level_timeseries_rows_and_csv_cells_are_read():
    rows = [{"variant": "a", **r} for r in windows("ingress", burst={3})]
    for r in rows:  # as read back from timeseries.csv: strings, empty cells
        for k, x in list(r.items()):
            r[k] = "" if x is None else str(x)
    data = figdata.over_time({"variants": [variant("a")], "timeseries": rows})
    assert data.variants[0].flows[0].values["sent"][3] == 1000.0


# ---- the figures ------------------------------------------------------------------------------

def test_latency_by_mode_log_axis_says_so_and_mean_label_sits_on_the_mean():
    fig = plots.latency_by_mode(two_modes())
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    for v in two_modes()["variants"]:
        mean = v["flows"][0]["latency_us"]["mean"]
        (label,) = [t for t in ax.texts if t.xy[1] == pytest.approx(mean)]
        diamonds = [ln for ln in ax.lines if ln.get_marker() == "D"
                    and ln.get_ydata()[0] == pytest.approx(mean)]
        assert diamonds and label.xy[0] == diamonds[0].get_xdata()[0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "mean (its value beside it)" in legend and "p99.9" in legend


def test_latency_cdf_figure_one_line_per_variant_on_a_labelled_log_axis():
    doc = two_modes()
    fig = plots.latency_cdf(doc)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()
    curves = [ln for ln in ax.lines if len(ln.get_xdata()) > 2]
    data = figdata.latency_cdf(doc)
    assert [list(ln.get_ydata()) for ln in curves] == [c.ys for c in data.panels[0].curves]
    assert {t.get_text() for t in ax.texts} >= {"p50", "p99"}
    same = copy.deepcopy(doc)  # a third variant with awsvpc's very latencies
    same["variants"].append(copy.deepcopy(same["variants"][0]) | {"name": "host"})
    same["variants"][2]["group"] = "host"
    legend = [t.get_text() for t in plots.latency_cdf(same).legends[0].get_texts()]
    assert legend == ["awsvpc", "bridge", "host (same as awsvpc)"]


def test_over_time_figure_a_column_per_variant_with_shared_rows():
    doc = {"variants": [variant("a", series=windows("ingress", burst=range(8, 11), drop={9})
                                + windows("h/x/eni", "device", queue=0.5)),
                        variant("b", series=windows("ingress", burst={3})),
                        variant("c", series=windows("ingress"))]}
    fig = plots.over_time(doc)
    assert len(fig.axes) == 3 * 2  # rates, latency, queues; a column per changing variant
    assert fig.get_suptitle().endswith("(1 steady variant not shown)")
    rate_a = fig.axes[0]
    assert "variant a" in rate_a.get_title(loc="left")
    ys = [y for ln in rate_a.lines for y in ln.get_ydata()]
    assert max(ys) == pytest.approx(1000 / 0.1)  # packets per second, not per window
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "dropped (packets/s)" in legend and "p99 latency" in legend
    assert plots.over_time({"variants": [variant("a")]}) is None


def test_a_run_with_nothing_to_draw_never_imports_matplotlib(tmp_path):
    settled = {"variants": [variant("a")]}  # every task running, no traffic, no event
    assert figdata.placement_settled(settled) and plots.applicable(settled) == []
    code = ("import sys, json; from ecsnetsim import plots; "
            f"print(plots.write_all(json.loads({json.dumps(settled)!r}), {str(tmp_path)!r}), "
            "'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["[]", "False"]


def test_placement_figures_only_when_placement_is_more_than_everything_running():
    doc = {"variants": [variant("a")]}
    inst = {"id": "i-0123456789abcdef0", "type": "c5.large", "az": "us-east-1a", "tasks": 1,
            "eni": {"used": 2, "limit": 3}, "branch_eni": {"used": 0, "limit": 0}}
    doc["variants"][0]["placement"]["instances"] = [inst, {**inst, "id": "i-1"}]
    assert "tasks_per_instance" not in plots.applicable(doc)  # one task on each
    inst["tasks"] = 2  # two on one instance: where tasks land is worth a look
    assert "tasks_per_instance" in plots.applicable(doc)
    svc = doc["variants"][0]["placement"]["services"][0]
    assert "placement_outcome" not in plots.applicable(doc)
    for change in ({"launch_failures": {"InsufficientFreeAddressesInSubnet": 1}},
                   {"stopped": {"ELB:UNHEALTHY": 2}}, {"running": 1, "pending": 1}):
        assert "placement_outcome" in plots.applicable(
            {"variants": [variant("b", placement={**doc["variants"][0]["placement"],
                                                  "services": [{**svc, **change}]})]})


def test_png_files_are_byte_identical_and_carry_no_date(tmp_path):
    doc = two_modes()
    a = plots.write_all(doc, tmp_path / "a")
    b = plots.write_all(doc, tmp_path / "b")
    assert [p.name for p in a] == ["hops_by_mode.png", "latency_by_mode.png",
                                   "latency_cdf.png"]
    for p, q in zip(a, b, strict=True):
        data = p.read_bytes()
        assert data == q.read_bytes() and data[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"tIME" not in data and b"Creation Time" not in data
        assert b"ecsnetsim" in data  # the Software text chunk


# ---- defects that must not come back -----------------------------------------------------------

def test_kind_colours_are_told_apart():
    colours = [*plots.KIND_COLORS.values(), *plots.style._SPARE_KIND_COLORS]
    closest = min(plots.style.color_distance(a, b)
                  for a, b in itertools.combinations(colours, 2))
    assert closest >= plots.style.MIN_KIND_DE


def overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_overhead_label_never_under_the_mean_diamond():
    base = flow(mean=30.0, p50=30.0, p90=30.0, p99=30.0)
    doc = {"variants": [variant("host", "host", [base]), variant("trunk", "awsvpc", [base])],
           "comparison": {"baseline": "host", "flows": [
               {"name": "ingress", "variant": "trunk", "extra_hops": 1.0,
                "latency_overhead_us": {"mean": 0.2, "p99": 0.2},
                "overhead_by_kind_us": {"trunk_eni": 0.1, "vlan_branch": 0.1}}]}}
    fig = plots.overhead_by_device(doc)
    (ax,) = fig.axes
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (diamond,) = [ln for ln in ax.lines if ln.get_marker() == "D"]
    x, y = ax.transData.transform((diamond.get_xdata()[0], diamond.get_ydata()[0]))
    r = diamond.get_markersize() / 72 * fig.dpi / 2
    (label,) = [t for t in ax.texts if "hop" in t.get_text()]
    box = label.get_window_extent(renderer)
    assert "+1 hop" in label.get_text()
    assert box.y0 > y + r  # wholly above the diamond
    assert not overlap(box, type(box).from_extents(x - r, y - r, x + r, y + r))


def test_no_legend_label_nests_parentheses():
    doc = {"variants": [variant("win", "default")]}
    doc["variants"][0]["placement"]["services"][0].update(running=1, pending=1,
                                                          failures={"RESOURCE:PORTS": 1})
    fig = plots.placement_outcome(doc)
    for t in fig.legends[0].get_texts():
        assert "((" not in t.get_text() and "))" not in t.get_text(), t.get_text()
    assert any(t.get_text().startswith("running: ") for t in fig.legends[0].get_texts())


def test_overhead_vs_load_says_when_its_axes_are_logarithmic():
    vs = []
    for rate in (1000, 100000):
        v = variant(f"a rate={rate}", flows=[flow(mean=30.0, p50=30.0, p90=30.0, p99=30.0)])
        v.update(group="a", sweep={"path": "traffic[0].rate", "value": f"{rate}/s",
                                   "number": rate})
        vs.append(v)
    fig = plots.overhead_vs_load({"variants": vs})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "traffic[0].rate (packets/s, log scale)"
    assert "log scale" not in ax.get_ylabel()  # equal latencies: a linear axis


def test_deployment_timeline_keeps_an_event_at_zero_off_the_y_axis():
    rows = [{"t": t, "service": "web", "running_old": 0, "running_new": n, "draining": 0,
             "pending": 2 - n, "healthy": n} for t, n in ((0.0, 0), (1.0, 2), (50.0, 1),
                                                           (51.0, 2))]
    v = variant("a", timeline=rows, end=100.0)
    v["placement"]["events"] = [{"t": 0.0, "kind": "launch", "instances": 2},
                                {"t": 50.0, "kind": "drain", "instances": 1}]
    fig = plots.deployment_timeline({"variants": [v]})
    for ax in fig.axes:
        lines = [ln for ln in ax.lines if isinstance(ln, Line2D)
                 and ln.get_linestyle() == "-." and len(set(ln.get_xdata())) == 1]
        assert lines
        left = ax.get_xlim()[0]
        for ln in lines:
            assert ln.get_xdata()[0] > left


def test_device_utilization_only_when_a_device_is_busy_or_drops():
    def doc(util, drops=0, kind="docker0"):
        dev = {"id": "h/docker0", "kind": kind, "host": "h", "packets": 10,
               "utilization": util, "mean_wait_us": 0.0, "drops": drops}
        return {"variants": [variant("a", devices=[dev])]}

    assert "device_utilization" not in plots.applicable(doc(figdata.BUSY / 2))
    assert "device_utilization" in plots.applicable(doc(figdata.BUSY))
    assert "device_utilization" in plots.applicable(doc(0.001, drops=3))
    # a shared resource's drops are its devices': they alone make no figure
    assert "device_utilization" not in plots.applicable(doc(0.001, 3, "vcpu_pool"))
