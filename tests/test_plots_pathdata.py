"""The numbers of the hops, packet-fate and busiest-devices figures, checked against the
results they come from, without matplotlib."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import SCENARIOS

import ecsnetsim
from ecsnetsim.plots import pathdata


@pytest.fixture(scope="module")
def doc():
    sc = ecsnetsim.load_scenario(SCENARIOS / "security-groups.yaml")
    return ecsnetsim.simulate(sc, seed=3, progress=False).document


def test_the_data_needs_no_matplotlib():
    code = ("import sys; from ecsnetsim.plots import pathdata; "
            "pathdata.hops({'variants': []}); assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_hop_bar_is_the_flows_path(doc):
    data = pathdata.hops(doc)
    bars = [bar for panel in data.panels for bar in panel.bars]
    assert bars
    paths = [f["path"] for v in doc["variants"] for f in v["flows"]]
    for bar in bars:
        assert bar.total in {len(p) for p in paths}
        assert (bar.total == 0) == bool(bar.note)
    assert data.kinds == {k for p in paths for k in p}


def test_fate_shares_are_the_counts_over_sent(doc):
    data = pathdata.packet_fate(doc)
    assert data is not None  # the scenario refuses some flows
    flows = [f for f in doc["variants"][0]["flows"]]
    for bar in data.bars[:len(flows)]:
        total = sum(bar.shares.values())
        assert total == pytest.approx(1.0) or total == 0.0
    unreachable = [b for b in data.bars if b.shares["unreachable"]]
    assert unreachable and all(b.reason for b in unreachable)
    assert data.used == [k for k in pathdata.FATES if any(b.shares[k] for b in data.bars)]


def test_no_fate_figure_when_every_packet_could_arrive():
    doc = {"variants": [{"name": "a", "flows": [{"name": "f", "sent": 5, "delivered": 5,
                                                   "unreachable": 0}]}]}
    assert pathdata.packet_fate(doc) is None


def test_busiest_devices_ranked_and_counted_once(doc):
    data = pathdata.busiest_devices(doc, top=6)
    busy = [v for v in doc["variants"] if v["devices"]]
    assert len(data.panels) == len(busy) <= 4
    for panel, v in zip(data.panels, busy, strict=True):
        util = [d["utilization"] for d in panel.devices]
        assert util == sorted(util, reverse=True)
        assert len(panel.devices) <= 6
        # a shared resource's drops are its devices': counted once
        assert panel.drops == sum(d["drops"] for d in v["devices"]
                                  if not d["kind"].endswith("_pool")
                                  and not d["kind"].startswith("card_"))
    swept = {"variants": [dict(v, sweep={"value": 1}) for v in doc["variants"]]}
    assert len(pathdata.busiest_devices(swept).panels) == 1
    assert pathdata.busiest_devices({"variants": []}) is None


def test_overhead_bars_add_up_to_the_measured_difference():
    """compare-modes against host: bridge adds docker0, a veth, NAT and forwarding; the
    kinds a bar stacks add up to the net change of the mean latency the run measured
    (within what each kind's rounding leaves); a variant with nothing delivered has no
    bar."""
    sc = ecsnetsim.load_scenario(SCENARIOS / "compare-modes.yaml",
                                 overrides=["duration=0.05s", "warmup=0s"])
    doc = ecsnetsim.simulate(sc, seed=2, progress=False).document
    data = pathdata.overhead(doc)
    assert data.baseline == doc["comparison"]["baseline"]
    bars = {b.label: b for p in data.panels for b in p.bars}
    bridge = bars["bridge"]
    assert {"docker0", "veth", "iptables_nat"} <= set(bridge.by_kind)
    assert all(bridge.by_kind[k] > 0 for k in ("docker0", "veth", "iptables_nat"))
    assert sum(bridge.by_kind.values()) == pytest.approx(bridge.net, abs=0.05)
    assert bridge.extra_hops == 4
    assert not bars["none"].delivered and bars["none"].net is None
    assert pathdata.overhead({"variants": []}) is None


def test_latency_against_load_follows_the_sweep():
    """bridge-contention's sweep: one line per compare variant, one point per swept rate;
    bridge's mean latency grows with the load its vCPUs carry, and the drop share is the
    run's dropped over sent."""
    from ecsnetsim.plots import sweepdata

    sc = ecsnetsim.load_scenario(SCENARIOS / "bridge-contention.yaml",
                                 overrides=["duration=0.06s", "warmup=0.02s",
                                            "sweep={\"traffic[0].rate\": [50000/s, 400000/s]}"])
    doc = ecsnetsim.simulate(sc, seed=3, progress=False).document
    data = sweepdata.latency_against_load(doc)
    assert data.numbers == [50000, 400000]
    assert data.modes == {"awsvpc": "awsvpc", "bridge": "bridge"}
    (panel,) = data.panels
    lines = {line.group: line for line in panel.lines}
    assert [x for x, _ in lines["bridge"].mean] == data.numbers
    assert lines["bridge"].mean[1][1] > lines["bridge"].mean[0][1]
    for v in doc["variants"]:
        f = v["flows"][0]
        x = v["sweep"]["number"]
        assert (x, 100.0 * f["dropped"] / f["sent"]) in lines[v["group"]].dropped
    assert data.dropped == any(v["flows"][0]["dropped"] for v in doc["variants"])
    assert data.twin("bridge") == "bridge"
    assert sweepdata.latency_against_load({"variants": []}) is None


def test_placement_outcome_bars_are_the_services_at_the_end():
    """fargate-vs-ec2: on EC2 without trunking two tasks wait on RESOURCE:ENI; each bar
    stacks to running + pending of its service and its desired line is the service's."""
    from ecsnetsim.plots import placedata

    sc = ecsnetsim.load_scenario(SCENARIOS / "fargate-vs-ec2.yaml",
                                 overrides=["traffic=[]"])
    doc = ecsnetsim.simulate(sc, seed=5, progress=False).document
    data = placedata.placement_outcome(doc)
    services = [s for v in doc["variants"] for s in v["placement"]["services"]]
    assert len(data.bars) == len(services)
    for bar, s in zip(data.bars, services, strict=True):
        assert bar.top == s["running"] + s["pending"]
        assert (bar.desired, bar.running) == (s["desired"], s["running"])
    ec2 = data.bars[0]
    assert ec2.not_running == {"RESOURCE:ENI": 2} and ec2.mode == "awsvpc"
    assert data.reasons == ["RESOURCE:ENI"] and data.events == []
    assert placedata.placement_outcome({"variants": []}) is None


def test_timeline_spans_are_the_runs_deployments():
    """deploy-drain: each panel's deployment spans are the run's deployments of that
    service, windows without a healthy task lie inside them and are those of the
    timeline, and the zoomed window holds every deployment's start."""
    from ecsnetsim.plots import timedata

    sc = ecsnetsim.load_scenario(SCENARIOS / "deploy-drain.yaml")
    doc = ecsnetsim.simulate(sc, seed=1, progress=False).document
    data = timedata.deployment_timeline(doc)
    assert data is not None and any(p.deployments for p in data.panels)
    for panel in data.panels:
        mine = [d for d in panel.variant.get("deployments") or []
                if d["service"] == panel.service]
        assert [s.start for s in panel.deployments] == [d["started_at"] for d in mine]
        for span, d in zip(panel.deployments, mine, strict=True):
            assert span.stalled == (d["status"] == "STALLED")
            assert d["status"] in span.status
            for z0, z1 in span.zero:
                assert span.start <= z0 < z1 <= span.end
                inside = [r for r in panel.rows if z0 <= r["t"] < z1]
                assert all(r["healthy"] == 0 for r in inside)
            if data.window is not None:
                assert data.window[0] <= span.start <= data.window[1]
    assert timedata.deployment_timeline({"variants": []}) is None


def test_no_overhead_bars_for_the_same_path_at_the_same_latency():
    """deploy-blue-green: the flow takes the same path at the same mean latency in both
    variants; the per-kind split differs by hundredths of a microsecond (other tasks' ENIs
    carried the packets), which is no device's cost: no overhead figure is drawn."""
    from ecsnetsim.plots import applicable

    doc = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "deploy-blue-green.yaml"),
                             seed=1, progress=False).document
    (row,) = doc["comparison"]["flows"]
    assert row["latency_overhead_us"]["mean"] == 0 and row["extra_hops"] == 0
    assert any(abs(d) >= 0.01 for d in row["overhead_by_kind_us"].values())
    assert "overhead_by_device" not in applicable(doc)
    assert pathdata.overhead(doc) is None
