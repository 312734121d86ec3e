"""Figures from results alone: each function's figure checked against the values in the
results, what it leaves out, and the files.

Small scenarios run once per module; expected bar and line counts come from the results
themselves (one bar group per variant, one segment per device kind on a path, ...).
"""

from __future__ import annotations

import copy
import doctest
import importlib
import subprocess
import sys
from collections import Counter

import pytest
from conftest import SCENARIOS, make_scenario
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import ecsnetsim
from ecsnetsim import plots
from ecsnetsim.cli import main
from ecsnetsim.plots import timeline


def run(source, *overrides):
    return ecsnetsim.simulate(ecsnetsim.load_scenario(source, overrides=list(overrides)),
                              workers=1)


@pytest.fixture(scope="module")
def modes():
    """host, awsvpc, awsvpc with trunking, bridge and none; one flow; a comparison."""
    return run(SCENARIOS / "compare-modes.yaml", "duration=0.1s", "warmup=0s")


@pytest.fixture(scope="module")
def busy():
    """compare-modes at 100,000 packets/s: devices busy enough to be worth a figure."""
    return run(SCENARIOS / "compare-modes.yaml", "duration=0.02s", "warmup=0s",
               "traffic[0].rate=100000/s")


@pytest.fixture(scope="module")
def sweep():
    """awsvpc and bridge on one c5.large, swept over three rates (a wide range)."""
    return run(SCENARIOS / "bridge-contention.yaml", "duration=0.02s", "warmup=0s",
               "services[0].desired_count=2",
               'sweep={"traffic[0].rate": [2000/s, 50000/s, 350000/s]}')


@pytest.fixture(scope="module")
def density():
    """awsvpc ENI density without and with trunking: placement only, no traffic."""
    return run(SCENARIOS / "awsvpc-eni-density.yaml", "duration=0s")


@pytest.fixture(scope="module")
def deploy():
    """A rolling update of a two-task service on static port 80 with a second service
    beside it: default settings stall on two instances, minimum 0 % completes through a
    window with no healthy task, dynamic ports complete."""
    return run(make_scenario(
        duration="20min",
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 2,
                                      "subnet": "a"}]},
        services=[
            {"name": "web", "desired_count": 2, "network_mode": "bridge", "cpu": 256,
             "memory": 512, "deregistration_delay": "60s",
             "containers": [{"name": "c", "port_mappings": [{"container_port": 80,
                                                             "host_port": 80}]}]},
            {"name": "api", "desired_count": 1, "network_mode": "host", "cpu": 128,
             "memory": 256},
        ],
        events=[{"at": "5min", "deploy": "web", "set": {"cpu": 300}}],
        compare={"variants": [
            {"name": "default", "set": {}},
            {"name": "min0", "set": {"services[0].deployment": {
                "minimum_healthy_percent": 0, "maximum_percent": 100}}},
            {"name": "dynamic", "set": {
                "services[0].containers[0].port_mappings[0].host_port": 0}}]},
    ))


@pytest.fixture(scope="module")
def daemon():
    """The shipped daemon update: four host-mode exporters, each old task stops one second
    before its replacement starts, two minutes into a ten-minute run."""
    return run(SCENARIOS / "deploy-daemon.yaml")


@pytest.fixture(scope="module")
def surge():
    """The shipped /27 with a 200 % surge: some new tasks are placed but fail to start
    (no free IP for their ENI) during a rolling update five minutes into 30."""
    return run(SCENARIOS / "deploy-subnet-surge.yaml")


@pytest.fixture(scope="module")
def spread():
    """Three placement strategies over four instances in two AZs."""
    return run(SCENARIOS / "binpack-vs-spread.yaml")


def bars(ax) -> list[Rectangle]:
    """Bars drawn on ``ax`` (not legend patches, not zero-height placeholders)."""
    return [p for p in ax.patches
            if isinstance(p, Rectangle) and p.get_height() and p.get_width()]


def ticklabels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def check_labelled(fig: Figure):
    """A title, a title per panel when there are several, axis labels, a legend."""
    assert isinstance(fig, Figure)
    assert fig.get_suptitle()
    for ax in fig.axes:
        if ax.get_label() == "whole run":
            continue  # a timeline's small overview beside its titled panel
        assert ax.get_ylabel() or ax.get_yticklabels()
        if len(fig.axes) > 1:
            assert ax.get_title(loc="left")
    assert any(ax.get_xlabel() for ax in fig.axes) or all(any(ticklabels(ax))
                                                          for ax in fig.axes)
    assert fig.legends, "every figure has a legend"


def reachable(res, flow="ingress"):
    return [v for v in res.variants
            if next(f for f in v["flows"] if f["name"] == flow)["delivered"]]


# ---- one figure each ------------------------------------------------------------------------

def test_hops_by_mode_one_stacked_bar_per_variant(modes):
    fig = plots.hops_by_mode(modes)
    check_labelled(fig)
    (ax,) = fig.axes
    assert ticklabels(ax) == [v["name"] for v in modes.variants]
    # one segment per device kind on each variant's path; none has no path at all
    segments = sum(len(Counter(v["flows"][0]["path"])) for v in modes.variants)
    assert len(bars(ax)) == segments
    tops = Counter()
    for b in bars(ax):
        tops[round(b.get_x() + b.get_width() / 2)] += b.get_height()
    for x, v in enumerate(modes.variants):
        assert tops.get(x, 0) == len(v["flows"][0]["path"])
    assert "hops" in ax.get_ylabel()


def test_hops_by_mode_collapses_sweep_points_with_the_same_path(sweep):
    fig = plots.hops_by_mode(sweep)
    (ax,) = fig.axes
    groups = list(dict.fromkeys(v["group"] for v in sweep.variants))
    assert ticklabels(ax) == groups


def test_latency_by_mode_boxes_each_variants_spread_and_labels_the_mean_on_it(modes):
    fig = plots.latency_by_mode(modes)
    check_labelled(fig)
    (ax,) = fig.axes
    assert "µs" in ax.get_ylabel()
    assert len(ticklabels(ax)) == len(modes.variants)
    delivered = reachable(modes)
    means = sorted(line.get_ydata()[0] for line in ax.lines if line.get_marker() == "D")
    assert means == pytest.approx(sorted(v["flows"][0]["latency_us"]["mean"]
                                         for v in delivered))
    bridge_x = [v["name"] for v in modes.variants].index("bridge")
    lat = modes.variant("bridge")["flows"][0]["latency_us"]
    near = [line for line in ax.lines if abs(line.get_xdata()[0] - bridge_x) < 0.5]
    if lat.get("hist"):  # a box p25-p75 from the histogram, the median across it
        q = {k: plots.figdata.hist_quantile(lat["hist"], f, lat["min"], lat["max"])
             for k, f in plots.figdata.BOX_QUANTILES}
        (box,) = [b for b in bars(ax) if abs(b.get_x() + b.get_width() / 2 - bridge_x) < 0.5]
        assert (box.get_y(), box.get_y() + box.get_height()) == pytest.approx((q["p25"],
                                                                              q["p75"]))
        assert to_hex(box.get_edgecolor()) == plots.MODE_COLORS["bridge"]
        segments = [tuple(line.get_ydata()) for line in near if len(line.get_xdata()) == 2]
        assert any(seg == pytest.approx((q["p50"],) * 2) for seg in segments)  # the median
        assert any(seg == pytest.approx((q["p1"], q["p99"])) for seg in segments)  # whiskers
    else:  # older results: p50, p90 and p99 as points
        points = {line.get_marker(): line.get_ydata()[0] for line in near
                  if len(line.get_xdata()) == 1}
        assert points["o"] == pytest.approx(lat["p50"])
        assert points["^"] == pytest.approx(lat["p99"])
    # the mean's value is written beside its diamond, at its height
    (diamond,) = [line for line in near if line.get_marker() == "D"]
    (label,) = [t for t in ax.texts if hasattr(t, "xy")
                and abs(t.xy[0] - diamond.get_xdata()[0]) < 1e-9]
    assert label.xy[1] == pytest.approx(lat["mean"]) and label.get_va() == "center"
    assert label.get_text() == plots.style._num(lat["mean"])


def test_latency_by_mode_turns_logarithmic_over_a_wide_range(sweep):
    (ax,) = plots.latency_by_mode(sweep).axes
    lat = [f["latency_us"]["p99"] for v in sweep.variants for f in v["flows"]]
    assert (ax.get_yscale() == "log") == (max(lat) / min(lat) > 20)
    assert len(ticklabels(ax)) == len(sweep.variants)


def test_overhead_by_device_stacks_each_kind_against_the_baseline(modes):
    fig = plots.overhead_by_device(modes)
    check_labelled(fig)
    (ax,) = fig.axes
    rows = modes.comparison["flows"]
    assert len(ticklabels(ax)) == len(rows)
    assert len(bars(ax)) == sum(len(r.get("overhead_by_kind_us") or {}) for r in rows)
    assert modes.comparison["baseline"] in ax.get_title(loc="left")
    bridge = next(r for r in rows if r["variant"] == "bridge")
    x = [r["variant"] for r in rows].index("bridge")
    docker0 = [b for b in bars(ax) if round(b.get_x() + b.get_width() / 2) == x and
               to_hex(b.get_facecolor()) == plots.KIND_COLORS["docker0"]]
    assert len(docker0) == 1
    assert docker0[0].get_height() == pytest.approx(bridge["overhead_by_kind_us"]["docker0"])


def test_overhead_vs_load_mean_and_p99_per_group_against_the_swept_value(sweep):
    fig = plots.overhead_vs_load(sweep)
    check_labelled(fig)
    ax = fig.axes[0]
    groups = list(dict.fromkeys(v["group"] for v in sweep.variants))
    rates = sorted({v["sweep"]["number"] for v in sweep.variants})
    assert len(ax.lines) == 2 * len(groups)
    for line in ax.lines:
        assert list(line.get_xdata()) == rates
    assert ax.get_xscale() == "log"  # 2000 to 350000 packets/s
    assert "traffic[0].rate" in fig.axes[-1].get_xlabel()
    dropped = any(f["dropped"] for v in sweep.variants for f in v["flows"])
    assert len(fig.axes) == (2 if dropped else 1)


def limit_segments(ax) -> list[tuple[float, float, float]]:
    """(x0, x1, y) of each task-limit mark."""
    return sorted((seg[0][0], seg[1][0], seg[0][1]) for coll in ax.collections
                  if isinstance(coll, LineCollection) for seg in coll.get_segments())


def bar_tops(ax) -> dict[float, float]:
    """Stacked height per bar position."""
    tops: Counter = Counter()
    for b in bars(ax):
        tops[round(b.get_x() + b.get_width() / 2, 6)] += b.get_height()
    return dict(tops)


def test_tasks_per_instance_marks_the_awsvpc_limit(density):
    fig = plots.tasks_per_instance(density)
    check_labelled(fig)
    (ax,) = fig.axes
    insts = [i for v in density.variants for i in v["placement"]["instances"]]
    assert len(bars(ax)) == sum(1 for i in insts if i["tasks"])
    assert sorted(b.get_height() for b in bars(ax)) == sorted(i["tasks"] for i in insts
                                                              if i["tasks"])
    limits = sorted(y for _, _, y in limit_segments(ax))
    expected = sorted(i["branch_eni"]["limit"] if i["trunked"] else i["eni"]["limit"] - 1
                      for i in insts)
    assert limits == expected
    # one tick per instance, labelled with the end of its id; one AZ: named in the title
    assert ticklabels(ax) == ["\u2026" + i["id"][-4:] for i in insts]
    assert "us-east-1a" in fig.get_suptitle()
    texts = [t.get_text() for t in ax.texts]
    for v in density.variants:
        assert plots.data._short(v["name"]) in texts  # the variant under its instances


def test_tasks_per_instance_groups_instances_by_az_and_labels_them(spread):
    fig = plots.tasks_per_instance(spread)
    (ax,) = fig.axes
    xs = list(ax.get_xticks())
    labels = ticklabels(ax)
    assert len(xs) == sum(len(v["placement"]["instances"]) for v in spread.variants)
    tops = bar_tops(ax)
    k = 0
    for v in spread.variants:  # groups in variant order, instances by AZ within a group
        insts = sorted(v["placement"]["instances"], key=lambda i: i["az"])
        mine = xs[k:k + len(insts)]
        k += len(insts)
        for inst, x, label in zip(insts, mine, labels[k - len(insts):k], strict=True):
            assert label == "\u2026" + inst["id"][-4:]
            assert tops.get(round(x, 6), 0) == inst["tasks"]
        for az in {i["az"] for i in insts}:
            at = [x for i, x in zip(insts, mine, strict=True) if i["az"] == az]
            centre = sum(at) / len(at)
            assert [t for t in ax.texts if t.get_text() == az
                    and abs(t.xy[0] - centre) < 1e-9], (v["name"], az)  # under its instances
        assert any(t.get_text() == v["name"] for t in ax.texts)


def test_placement_outcome_splits_pending_by_reason(density):
    fig = plots.placement_outcome(density)
    check_labelled(fig)
    (ax,) = fig.axes
    services = [s for v in density.variants for s in v["placement"]["services"]]
    assert len(ticklabels(ax)) == len(services)
    expected = sum((1 if s["running"] else 0) + len(s["failures"]) for s in services)
    assert len(bars(ax)) == expected
    pending = sorted(b.get_height() for b in bars(ax) if b.get_hatch())
    assert pending == sorted(n for s in services for n in s["failures"].values())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "not running: RESOURCE:ENI" in legend
    assert not any("surge" in t for t in legend)  # no deployment: nothing above desired


def test_placement_outcome_explains_a_deployment_surge(deploy):
    stuck = next(s for s in deploy.variant("default")["placement"]["services"]
                 if s["name"] == "web")
    over = stuck["running"] + stuck["pending"] - stuck["desired"]
    assert over > 0  # old tasks still running, their replacements wanted beside them
    fig = plots.placement_outcome(deploy)
    (ax,) = fig.axes
    dashed = [(p.get_y(), p.get_height()) for p in bars(ax) if p.get_linestyle() == "--"]
    assert (stuck["desired"], over) in dashed
    old = stuck.get("running_old") or 0
    said = f"+{old} old" if old == over else f"+{over} surge"  # the old revision's tasks
    assert any(said in t.get_text() for t in ax.texts)
    if old:
        assert any(f"{stuck['running'] - old}/{stuck['desired']} new" in t.get_text()
                   for t in ax.texts)  # never more running than desired
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "surge (deployment" in legend and "maximum_percent" in legend


def test_placement_outcome_counts_failed_starts_apart_from_the_tasks(surge):
    (svc,) = surge.variants[0]["placement"]["services"]
    failed = svc["launch_failures"]
    assert sum(failed.values()) >= 1
    fig = plots.placement_outcome(surge)
    ax, events = fig.axes  # tasks at the end; beside them, what happened during the run
    thin = [b for b in bars(events) if b.get_hatch() == "xxx"]
    assert sum(b.get_height() for b in thin) == sum(failed.values())
    assert not [b for b in bars(ax) if b.get_hatch() == "xxx"]
    # no part of the outcome panel stands above the desired count by failed starts
    assert max(bar_tops(ax).values()) <= svc["running"] + svc["pending"]
    assert any(t.get_text() == f"{sum(failed.values())}" for t in events.texts)
    assert "over the run" in events.get_ylabel()
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    for reason in failed:
        assert f"failed to start: {reason}" in legend


def test_device_utilization_top_devices_of_each_variant(busy):
    fig = plots.device_utilization(busy, top=6)
    check_labelled(fig)
    with_devices = [v for v in busy.variants if v["devices"]]
    assert len(fig.axes) == len(with_devices)
    for ax, v in zip(fig.axes, with_devices, strict=True):
        # several panels share the devices: half of ``top`` each, at least four
        widths = sorted((p.get_width() for p in ax.patches), reverse=True)
        assert len(widths) == min(4, len(v["devices"]))
        busiest = max(d["utilization"] for d in v["devices"])
        assert widths[0] == pytest.approx(100 * busiest)
        shown = [t.get_text() for t in ax.get_yticklabels()]
        # nothing busier than a bar shown is left out, a shared resource included (bar a
        # card link that only repeats its one device's queue)
        for d in v["devices"]:
            if 100 * d["utilization"] > min(widths) + 1e-9 and d["id"] not in shown:
                assert plots.data._pool(d["kind"])
                assert any(e["packets"] == d["packets"] and e["drops"] == d["drops"]
                           and not plots.data._pool(e["kind"]) for e in v["devices"])
    assert "utilization" in fig.axes[-1].get_xlabel()


def test_device_utilization_counts_drops_once(sweep):
    fig = plots.device_utilization(sweep)
    (ax,) = fig.axes

    def devices(v):
        return [d for d in v["devices"] if not plots.data._pool(d["kind"])]

    busiest = max(sweep.variants, key=lambda v: (sum(d["drops"] for d in devices(v)),
                                                  max(d["utilization"] for d in v["devices"])))
    assert busiest["sweep"]["value"] in ax.get_title(loc="left")
    shown = [t.get_text() for t in ax.get_yticklabels()]
    by_id = {d["id"]: d for d in busiest["devices"]}
    assert len(shown) == min(12, len(busiest["devices"]))
    # drops are written on the devices that dropped, never again on the shared resource
    # whose queue they share
    for y, name in enumerate(shown):
        (text,) = [t.get_text() for t in ax.texts if t.xy[1] == y]
        d = by_id[name]
        assert ("drops" in text) == bool(d["drops"] and not plots.data._pool(d["kind"]))
        assert text.startswith(f"{100 * d['utilization']:.3g} %")
    total = sum(d["drops"] for d in devices(busiest))
    assert total == sum(f["dropped"] for f in busiest["flows"])
    if total:
        assert f"{total:,} packets dropped in all" in ax.get_title(loc="left")
    assert any(plots.data._pool(by_id[n]["kind"]) for n in shown)  # the contended vCPUs


def zoomed(fig):
    """The main (zoomed) timeline panels."""
    return [ax for ax in fig.axes if ax.get_label() != "whole run"]


def overview(fig):
    """The whole-run panels beside them."""
    return [ax for ax in fig.axes if ax.get_label() == "whole run"]


def unit(ax) -> float:
    """Seconds per x unit of a timeline panel, from its column's axis label."""
    column = zoomed(ax.figure) if ax in zoomed(ax.figure) else overview(ax.figure)
    label = next(a.get_xlabel() for a in column if a.get_xlabel())
    return 60.0 if "(min" in label else 1.0


def test_deployment_timeline_one_panel_per_variant_and_service(deploy):
    fig = plots.deployment_timeline(deploy)
    check_labelled(fig)
    panels = [(v["name"], s) for v in deploy.variants
              for s in dict.fromkeys(r["service"] for r in v["timeline"])]
    main_panels = zoomed(fig)
    assert len(main_panels) == len(panels)
    assert len(overview(fig)) in (0, len(panels))
    for ax in fig.axes:
        assert len(ax.collections) == len(timeline._AREAS)  # stacked task states
        assert len(ax.lines) >= 1  # healthy
    for ax in main_panels:
        assert ax.get_ylabel() == "tasks"
    assert "simulated time" in main_panels[-1].get_xlabel()
    for ax, (variant, service) in zip(main_panels, panels, strict=True):
        title = ax.get_title(loc="left")
        assert title.startswith(f"{variant} \u00b7 service {service}")
        deps = [d for d in deploy.variant(variant)["deployments"] if d["service"] == service]
        assert len(ax.patches) >= len(deps)  # a span per deployment
        for d in deps:
            assert f"rev {d['revision']} {d['status']}" in title


def panel(fig, variant: str, service: str = "web"):
    return next(ax for ax in zoomed(fig)
                if ax.get_title(loc="left").startswith(f"{variant} \u00b7 service {service}"))


def spans(ax, hatched: bool) -> list[tuple[float, float]]:
    """(start, end) in seconds of the shaded time spans of a timeline panel."""
    return [(p.get_x() * unit(ax), (p.get_x() + p.get_width()) * unit(ax))
            for p in ax.patches if bool(p.get_hatch()) == hatched]


def test_deployment_timeline_marks_the_stall_and_the_zero_healthy_window(deploy):
    stuck, min0 = deploy.variant("default"), deploy.variant("min0")
    assert stuck["deployments"][0]["status"] == "STALLED"
    assert min0["deployments"][0]["status"] == "COMPLETED"
    zero = min0["deployments"][0]["zero_healthy_seconds"]
    assert zero > 0
    fig = plots.deployment_timeline(deploy)
    ax_stuck, ax_min0 = panel(fig, "default"), panel(fig, "min0")
    # the stalled deployment: one hatched span from its start to the end of the run
    (s0, s1), = spans(ax_stuck, hatched=True)
    assert s0 == pytest.approx(stuck["deployments"][0]["started_at"])
    assert s1 == pytest.approx(stuck["end"])
    assert "STALLED on RESOURCE:PORTS" in ax_stuck.get_title(loc="left")
    # the completed one: its span, and red spans adding up to the zero-healthy seconds
    red = [p for p in ax_min0.patches if to_hex(p.get_facecolor()) == "#e15759"]
    assert red and len(spans(ax_min0, hatched=False)) == 1 + len(red)
    assert sum(p.get_width() for p in red) * unit(ax_min0) == pytest.approx(zero)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "deployment stalled (no progress)" in labels
    assert "no healthy task during the deployment" in labels


def test_deployment_timeline_zooms_to_the_daemon_gap(daemon):
    """The point of deploy-daemon: for one second no exporter runs. On an axis of the
    whole ten minutes that second is about a pixel wide; zoomed it is plain to see."""
    v = daemon.variants[0]
    (dep,) = v["deployments"]
    assert dep["zero_healthy_seconds"] == pytest.approx(1.0)
    fig = plots.deployment_timeline(daemon)
    (ax,) = zoomed(fig)
    (whole,) = overview(fig)
    lo, hi = (x * unit(ax) for x in ax.get_xlim())
    # the window holds every event after start-up: the deployment and each change
    steady = v["placement"]["services"][0]["steady_at"]
    events = [dep["started_at"], dep["finished_at"]] + [r["t"] for r in v["timeline"]
                                                         if r["t"] > steady]
    assert all(lo <= t <= hi for t in events)
    assert hi - lo < 0.5 * v["end"]  # zoomed: less than half the run
    # the gap: its red span is wide on screen, not a sliver; the whole run beside it
    fig.canvas.draw()
    (red,) = [p for p in ax.patches if to_hex(p.get_facecolor()) == "#e15759"]
    assert red.get_width() * unit(ax) == pytest.approx(1.0)
    assert red.get_window_extent().width > 0.2 * ax.get_window_extent().width
    assert whole.get_xlim()[1] * unit(whole) == pytest.approx(v["end"])
    window = [p for p in whole.patches if to_hex(p.get_facecolor()) == "#000000"]
    assert [(p.get_x() * unit(whole), (p.get_x() + p.get_width()) * unit(whole))
            for p in window] == [pytest.approx((lo, hi))]


def test_deployment_timeline_names_failures_and_zooms_to_the_rollout(surge):
    v = surge.variants[0]
    (dep,) = v["deployments"]
    assert dep["failures"]
    fig = plots.deployment_timeline(surge)
    (ax,) = zoomed(fig)
    title = ax.get_title(loc="left")
    for reason, n in dep["failures"].items():
        assert f"{reason}\u00d7{n}" in title
    lo, hi = (x * unit(ax) for x in ax.get_xlim())
    assert lo <= dep["started_at"] and dep["finished_at"] <= hi
    assert hi - lo < 0.5 * v["end"]


def test_deployment_timeline_marks_instance_events():
    res = run(SCENARIOS / "scale-out.yaml", "cluster.instance_groups[0].scaling.launch_delay=40s")
    v = res.variants[0]
    launched = len(v["placement"]["instances"]) - 2  # the group starts with 2
    assert launched > 0
    fig = plots.deployment_timeline(res)
    ax, = zoomed(fig)
    marks = [ln for ln in ax.lines if ln.get_linestyle() == "-."]
    assert sorted(ln.get_xdata()[0] * unit(ax) for ln in marks) == [0.0, 40.0]
    labels = {t.get_text() for t in ax.texts}
    assert labels == {f"launch {launched}", f"register {launched}"}


def test_timeline_only_when_something_happens_after_start_up():
    """alb-targets: tasks start, turn healthy, and nothing else happens: no timeline."""
    res = run(SCENARIOS / "alb-targets.yaml")
    assert all(not v["deployments"] for v in res.variants)
    assert plots.deployment_timeline(res) is None


# ---- not applicable: None -------------------------------------------------------------------

def test_figures_that_do_not_apply_return_none(modes, density):
    assert plots.overhead_vs_load(modes) is None  # no sweep
    assert plots.deployment_timeline(modes) is None  # start-up only
    for fn in (plots.hops_by_mode, plots.latency_by_mode, plots.overhead_by_device,
               plots.overhead_vs_load, plots.device_utilization, plots.deployment_timeline):
        assert fn(density) is None, fn.__name__  # no traffic, no events


def test_results_without_a_timeline_skip_only_that_figure(deploy):
    doc = copy.deepcopy(deploy.document)
    for v in doc["variants"]:
        v.pop("timeline")
        v.pop("deployments")
    assert plots.deployment_timeline(doc) is None
    assert plots.placement_outcome(doc) is not None


def test_accepts_the_document_and_the_alias(modes):
    assert plots.hops_by_mode(modes.document) is not None
    assert plots.compare_modes(modes).get_suptitle() == plots.hops_by_mode(modes).get_suptitle()
    assert "latency" in plots.compare_modes(modes, "latency").get_suptitle().lower()
    with pytest.raises(ValueError, match="metric"):
        plots.compare_modes(modes, "speed")
    with pytest.raises(TypeError):
        plots.hops_by_mode([1, 2])


# ---- files ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(modes, tmp_path_factory):
    """The modes results saved as files, and every figure written from them in memory."""
    root = tmp_path_factory.mktemp("plots")
    modes.save(root / "run")
    return root, plots.write_all(modes, root / "figs", formats=("png", "svg"))


def test_write_all_writes_every_applicable_figure(modes, saved):
    root, written = saved
    # traffic, a comparison and placement; no sweep, no deployment
    assert not any(v["sweep"] or v["deployments"] for v in modes.variants)
    # packet_fate: the none variant is unreachable. Left out: tasks_per_instance and
    # placement_outcome (every service runs its 2 tasks, one per instance), and
    # device_utilization (no device 1 % busy)
    hist = any(f["latency_us"].get("hist") for v in modes.variants for f in v["flows"])
    applicable = ["hops_by_mode", "latency_by_mode", *(["latency_cdf"] if hist else []),
                  "overhead_by_device", "packet_fate"]
    assert plots.applicable(modes) == applicable
    assert written == [root / "figs" / f"{n}.{ext}" for n in applicable
                       for ext in ("png", "svg")]
    for p in written:
        assert p.stat().st_size > 1000
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in written[1].read_bytes()[:1000]
    # PNG only by default
    assert [p.name for p in plots.write_all(modes, root / "png")] == \
        [f"{n}.png" for n in applicable]


def test_plot_command_regenerates_byte_identical_svg_from_files_alone(saved, capsys):
    root, written = saved
    assert main(["plot", str(root / "run"), "-o", str(root / "cli"), "--svg"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(root / "cli" / p.name) for p in written] + [
        str(root / "cli" / "report.html")]  # the page that embeds them, rewritten too
    for p in written:
        if p.suffix == ".svg":
            assert (root / "cli" / p.name).read_bytes() == p.read_bytes(), p.name


def test_run_draws_figures_on_request_only(tmp_path, capsys):
    scenario = SCENARIOS / "compare-modes.yaml"
    args = ["run", str(scenario), "--set", "duration=0.02s", "--set", "warmup=0s"]
    assert main([*args, "-o", str(tmp_path / "plain")]) == 0
    out = capsys.readouterr().out
    assert not list((tmp_path / "plain").glob("*.png"))  # the default: result files only
    assert f"draw them with: ecsnetsim plot {tmp_path / 'plain'}" in out
    assert "hops_by_mode" in out.rsplit("figures not drawn", 1)[1]  # it names what applies
    assert main([*args, "-o", str(tmp_path / "with"), "--quiet", "--plots"]) == 0
    figures = sorted(p.name for p in (tmp_path / "with").glob("*.png"))
    assert "hops_by_mode.png" in figures and "overhead_by_device.png" in figures
    assert not list((tmp_path / "with").glob("*.svg"))
    # plot draws from the result files what run --plots draws with them
    assert main(["plot", str(tmp_path / "plain")]) == 0
    for name in figures:
        assert (tmp_path / "plain" / name).read_bytes() == \
            (tmp_path / "with" / name).read_bytes(), name
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "svg"), "--svg"]) == 0
    assert "figures (png, svg):" in capsys.readouterr().out
    svgs = sorted(p.name for p in (tmp_path / "svg").glob("*.svg"))
    assert [n.replace(".svg", ".png") for n in svgs] == figures
    # run --svg and plot --svg draw the same SVG from the same results
    assert main(["plot", str(tmp_path / "svg"), "-o", str(tmp_path / "again"), "--svg"]) == 0
    for name in svgs:
        assert (tmp_path / "again" / name).read_bytes() == \
            (tmp_path / "svg" / name).read_bytes(), name
    # a rerun into the same directory leaves no SVG of the earlier run behind
    assert main([*args, "-o", str(tmp_path / "svg"), "--quiet", "--plots"]) == 0
    assert not list((tmp_path / "svg").glob("*.svg"))
    assert sorted(p.name for p in (tmp_path / "svg").glob("*.png")) == figures
    assert main([*args, "-o", str(tmp_path / "svg"), "--no-plots", "--quiet"]) == 0
    assert not list((tmp_path / "svg").glob("*.png"))
    assert (tmp_path / "svg" / "results.json").is_file()


def test_run_plots_draws_the_figures_named(tmp_path, capsys):
    scenario = SCENARIOS / "compare-modes.yaml"
    args = ["run", str(scenario), "--set", "duration=0.02s", "--set", "warmup=0s", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "o"), "--plots", "latency_cdf,hops_by_mode"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").glob("*.png")) == [
        "hops_by_mode.png", "latency_cdf.png"]
    assert main([*args, "-o", str(tmp_path / "bad"), "--plots", "latncy_cdf"]) == 2
    err = capsys.readouterr().err
    assert "--plots: unknown figure 'latncy_cdf' (did you mean 'latency_cdf'?)" in err
    assert "Traceback" not in err and not (tmp_path / "bad").exists()  # refused before running


def test_rerun_removes_figures_the_new_results_do_not_support(tmp_path):
    out = tmp_path / "out"
    scenario = SCENARIOS / "compare-modes.yaml"
    assert main(["run", str(scenario), "--set", "duration=0.02s", "--set", "warmup=0s",
                 "-o", str(out), "--quiet", "--plots"]) == 0
    assert (out / "hops_by_mode.png").is_file()
    # the same directory, now without traffic: no hop figure may be left from before
    assert main(["run", str(scenario), "--set", "duration=0.02s", "--set", "warmup=0s",
                 "--set", "traffic=[]", "-o", str(out), "--quiet", "--plots"]) == 0
    assert not (out / "hops_by_mode.png").exists()
    assert not list(out.glob("*.png"))  # every task placed, no traffic: nothing to draw
    assert "No figures" in (out / "report.html").read_text()


@pytest.mark.parametrize("content, expected", [
    ("{not json", "results.json:1: not valid JSON"),
    ('{"a": 1}', "expected the results.json of 'ecsnetsim run'"),
    ('{"schema_version": 1, "variants": [{"name": "x"}]}',
     "variants[0]: missing placement, flows, devices"),
    ('{"schema_version": 99, "variants": []}', "schema_version is 99"),
])
def test_plot_of_a_broken_results_file_is_a_clear_error(tmp_path, capsys, content, expected):
    (tmp_path / "results.json").write_text(content)
    assert main(["plot", str(tmp_path), "-o", str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "figs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # nothing staged


# ---- nothing misleading; cheap to import -----------------------------------------------------

def test_no_figure_uses_a_symlog_axis(modes, sweep, deploy, daemon):
    """A symlog axis makes a small part look like the cause: linear or log only."""
    drawn = 0
    for res in (modes, sweep, deploy, daemon):
        for name, fn in plots.FIGURES.items():
            fig = fn(res)
            if fig is None:
                continue
            drawn += 1
            for ax in fig.axes:
                assert "symlog" not in (ax.get_yscale(), ax.get_xscale()), name
    assert drawn >= len(plots.FIGURES)


def test_overhead_noise_below_the_resolution_draws_no_bar(modes):
    doc = copy.deepcopy(modes.document)
    rows = [r for r in doc["comparison"]["flows"] if r.get("overhead_by_kind_us")]
    for row in rows:
        row["overhead_by_kind_us"] = {k: -9e-6 for k in row["overhead_by_kind_us"]}
        row["latency_overhead_us"]["mean"] = -9e-6
        row["extra_hops"] = 0
    assert plots.overhead_by_device(doc) is None  # every difference is rounding
    rows[-1]["overhead_by_kind_us"] = {"docker0": 1.5, "veth": 2e-6}
    rows[-1]["latency_overhead_us"]["mean"] = 1.5
    (ax,) = plots.overhead_by_device(doc).axes
    assert [round(b.get_height(), 6) for b in bars(ax)] == [1.5]
    assert ax.get_yscale() == "linear"


def test_importing_plots_does_not_import_matplotlib():
    code = ("import sys; from ecsnetsim import plots; import ecsnetsim.results; "
            "assert 'matplotlib' not in sys.modules; print(len(plots.FIGURE_NAMES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == str(len(plots.FIGURES))
    assert tuple(plots.FIGURES) == plots.FIGURE_NAMES


@pytest.mark.parametrize("module", ["ecsnetsim.plots", *(
    f"ecsnetsim.plots.{m}" for m in ("data", "style", "output", "hops", "latency", "overhead",
                                     "load", "tasks", "placement", "fate", "utilization",
                                     "timeline", "figdata", "files", "cdf", "overtime",
                                     "pathdata", "sweepdata", "placedata", "timedata"))])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_no_title_runs_into_the_legend(busy, sweep, deploy):
    """Laid out without a layout engine: the figure's title and every panel's title end
    before the legend begins (a long panel title once ran under the legend)."""
    for res in (busy, sweep, deploy):
        for name in plots.applicable(res):
            fig = plots.FIGURES[name](res)
            renderer = fig.canvas.get_renderer()
            fig.canvas.draw()
            left = min(leg.get_window_extent(renderer).x0 for leg in fig.legends)
            titles = [fig._suptitle] + [t for ax in fig.axes
                                        for t in (ax._left_title, ax.title) if t.get_text()]
            for t in titles:
                assert t.get_window_extent(renderer).x1 <= left, (name, t.get_text())
