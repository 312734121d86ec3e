"""Data plane through the public API: hops, latency and overheads are measured."""

from __future__ import annotations

import pytest
from conftest import ROOT, SCENARIOS, make_scenario

import ecsnetsim
from ecsnetsim.calibration import default_profile
from ecsnetsim.net.engine import FlowStats


@pytest.fixture(scope="module")
def modes_result():
    return ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "compare-modes.yaml"))


def flow(res, variant, name="ingress"):
    return next(f for f in res.variant(variant)["flows"] if f["name"] == name)


def test_hops_are_the_devices_crossed(modes_result):
    for v in ("host", "awsvpc", "awsvpc-trunking", "bridge"):
        f = flow(modes_result, v)
        assert f["hops"]["min"] == f["hops"]["max"] == len(f["path"])


def test_mode_paths(modes_result):
    host, bridge = flow(modes_result, "host"), flow(modes_result, "bridge")
    awsvpc, trunk = flow(modes_result, "awsvpc"), flow(modes_result, "awsvpc-trunking")
    hops = {v: flow(modes_result, v)["hops"]["mean"]
            for v in ("host", "awsvpc", "awsvpc-trunking", "bridge")}
    assert hops["host"] == min(hops.values())
    assert hops["bridge"] > hops["host"]
    for kind in ("iptables_nat", "host_forward", "docker0", "veth"):
        assert kind in bridge["path"] and kind not in host["path"]
    for f in (awsvpc, trunk):
        assert "iptables_nat" not in f["path"] and "docker0" not in f["path"]
    assert "trunk_eni" in trunk["path"] and "vlan_branch" in trunk["path"]
    assert bridge["latency_us"]["mean"] > host["latency_us"]["mean"]
    # the overhead is broken down by device kind, and only bridge devices add to it
    b, h = bridge["breakdown_us"], host["breakdown_us"]
    diff = {k: b.get(k, 0.0) - h.get(k, 0.0) for k in set(b) | set(h)}
    total = bridge["latency_us"]["mean"] - host["latency_us"]["mean"]
    assert sum(diff.values()) == pytest.approx(total, rel=0.02)
    row = next(r for r in modes_result.comparison["flows"] if r["variant"] == "bridge")
    assert row["overhead_by_kind_us"]["docker0"] == pytest.approx(diff["docker0"])


def test_none_is_unreachable(modes_result):
    f = flow(modes_result, "none")
    assert f["sent"] > 0 and f["unreachable"] == f["sent"] and f["delivered"] == 0


def _conserved(res) -> bool:
    return all(f["sent"] == f["delivered"] + f["dropped"] + f["unreachable"] + f["in_flight"]
               for v in res.variants for f in v["flows"])


def _loaded_bridge() -> dict:
    """Ends while packets queue: 400k packets/s into one c5.large (beyond its vCPUs)."""
    return make_scenario(
        duration="20ms", warmup="5ms",
        services=[{"name": "web", "desired_count": 4, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 0}]}]}],
        traffic=[{"name": "f", "to": "web", "rate": "400000/s", "size": 200}])


def test_conservation(modes_result, monkeypatch):
    """sent = delivered + dropped + unreachable + in_flight, with in_flight counted from the
    packets the engine still holds: an engine that loses packets fails the check."""
    assert _conserved(modes_result)
    res = ecsnetsim.simulate(_loaded_bridge(), workers=1)
    (f,) = res.variants[0]["flows"]
    assert f["in_flight"] > 0 and f["delivered"] > 0 and _conserved(res)
    assert res.flows[0]["in_flight"] == f["in_flight"]  # the flows.csv column

    deliver = FlowStats._deliver
    every = iter(range(10**9))

    def lossy(self, p, now):
        if next(every) % 97:
            deliver(self, p, now)

    monkeypatch.setattr(FlowStats, "_deliver", lossy)
    assert not _conserved(ecsnetsim.simulate(_loaded_bridge(), workers=1))


def test_comparison_block(modes_result):
    comp = modes_result.comparison
    assert comp["baseline"] == "host"
    rows = {r["variant"]: r for r in comp["flows"]}
    b, h = flow(modes_result, "bridge"), flow(modes_result, "host")
    assert rows["bridge"]["extra_hops"] == pytest.approx(b["hops"]["mean"] - h["hops"]["mean"])
    assert rows["bridge"]["latency_ratio"] > 1


def _idle(mode: str, **over) -> dict:
    """One packet every 10 ms: nothing queues, so latency is the sum of device costs."""
    sc = make_scenario(
        duration="1s",
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1}]},
        services=[{"name": "web", "desired_count": 1, "network_mode": mode, "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 80 if mode != "awsvpc" else None}]}]}],
        traffic=[{"name": "f", "to": "web", "rate": "100/s", "arrival": "constant",
                  "size": 100}], **over)
    res = ecsnetsim.simulate(sc)
    return res.variants[0]["flows"][0]


#: Every device kind's jitter off: each device a constant delay, as before jitter existed.
NO_JITTER = {"calibration": {kind: {"jitter": "none"} for kind in default_profile()}}


def test_idle_latency_is_the_sum_of_the_devices_on_the_path():
    f = _idle("host", **NO_JITTER)
    # client ENI uses the default 10 Gbit/s link, the instance's ENI its card: compute both
    from ecsnetsim import catalog

    prof = default_profile()
    bw_inst = catalog.get("c5.xlarge").bandwidth_bps
    expected = 0.0
    eni_seen = 0
    for kind in f["path"]:
        p = prof[kind]
        expected += p.latency + p.service
        if kind == "eni":
            expected += 100 / (1.25e9 if eni_seen == 0 else bw_inst)
            eni_seen += 1
    assert f["latency_us"]["max"] == pytest.approx(expected * 1e6, rel=1e-9)
    assert f["latency_us"]["p50"] == pytest.approx(expected * 1e6, rel=1e-9)


def test_calibration_override_moves_only_paths_through_that_device():
    base_bridge, base_host = _idle("bridge"), _idle("host")
    over = {"calibration": {"docker0": {"service": "4us"}}}
    new_bridge, new_host = _idle("bridge", **over), _idle("host", **over)
    delta = (4e-6 - default_profile()["docker0"].service) * 1e6
    assert new_bridge["latency_us"]["mean"] - base_bridge["latency_us"]["mean"] == \
        pytest.approx(delta, rel=1e-6)
    assert new_host["latency_us"]["mean"] == base_host["latency_us"]["mean"]


def test_idle_round_trip_host_to_host_is_about_60us():
    # the calibration sheet's check: host <-> host same AZ, small messages, RTT ~ 60 us
    f = _idle("host")
    rtt = 2 * f["latency_us"]["mean"]
    assert 54 <= rtt <= 66


def _same_host(mode: str) -> dict:
    sc = make_scenario(
        duration="2s",
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1}]},
        services=[
            {"name": "a", "desired_count": 1, "network_mode": mode, "cpu": 0, "memory": 1,
             "containers": [{"name": "c", "port_mappings": [{"container_port": 8080}]}]},
            {"name": "b", "desired_count": 1, "network_mode": mode, "cpu": 0, "memory": 1,
             "containers": [{"name": "c", "port_mappings": [{"container_port": 80}]}]}],
        traffic=[{"name": "a-to-b", "from": "a", "to": "b", "rate": "1000/s",
                  "arrival": "constant"}])
    return ecsnetsim.simulate(sc).variants[0]["flows"][0]


def test_same_host_task_to_task_paths():
    bridge, awsvpc, host = _same_host("bridge"), _same_host("awsvpc"), _same_host("host")
    assert "docker_proxy" in bridge["path"]  # hairpin to a published port
    assert "nic_hairpin" in awsvpc["path"] and "docker0" not in awsvpc["path"]
    assert "vpc_fabric" not in awsvpc["path"]  # it turns around in the card
    assert host["path"] == ["host_stack", "host_stack"]
    # docker-proxy's median is near the card's turn-around; its wake-ups make the tail
    assert bridge["latency_us"]["p99"] > awsvpc["latency_us"]["p99"] > host["latency_us"]["p99"]
    assert awsvpc["latency_us"]["p50"] > host["latency_us"]["p50"]


def test_alb_targets():
    sc = ecsnetsim.load_scenario(SCENARIOS / "compare-modes.yaml",
                                 overrides=["traffic[0].via=alb"])
    res = ecsnetsim.simulate(sc)
    for v in ("host", "bridge", "awsvpc"):
        f = flow(res, v)
        assert "alb" in f["path"] and f["delivered"] == f["sent"] - f["in_flight"]


def test_cross_az_costs_more_than_same_az():
    sc = make_scenario(
        duration="0.5s",
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "az": "us-east-1a"},
                         {"name": "b", "cidr": "10.0.1.0/24", "az": "us-east-1b"}]},
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1,
                                      "subnet": "b"}]},
        services=[{"name": "web", "desired_count": 1, "network_mode": "host", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80}]}]}],
        traffic=[{"name": "f", "to": "web", "rate": "100/s", "arrival": "constant"}])
    f = ecsnetsim.simulate(sc).variants[0]["flows"][0]
    assert "vpc_fabric_cross_az" in f["path"]
    assert f["latency_us"]["mean"] > _idle("host")["latency_us"]["mean"] + 300


def test_load_raises_bridge_latency_and_seed_reproduces(tmp_path):
    def run(rate, seed=1):
        sc = make_scenario(
            duration="0.3s",
            cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 1}]},
            services=[{"name": "web", "desired_count": 1, "network_mode": "bridge", "cpu": 0,
                       "memory": 1, "containers": [{"name": "c", "port_mappings": [
                           {"container_port": 80, "host_port": 80}]}]}],
            traffic=[{"name": "f", "to": "web", "rate": rate}])
        return ecsnetsim.simulate(sc, seed=seed)
    low, high = run("1000/s"), run("150000/s")
    lo, hi = low.variants[0]["flows"][0], high.variants[0]["flows"][0]
    assert hi["latency_us"]["mean"] > lo["latency_us"]["mean"]
    cpu = [d for d in high.variants[0]["devices"] if d["kind"] == "docker0"][0]
    assert cpu["utilization"] > 0
    assert run("1000/s", seed=2).to_json() != low.to_json()
    assert run("1000/s", seed=1).to_json() == low.to_json()


def test_progress_ticks_change_no_result():
    """Running the clock in steps (to report progress) gives the same variant, byte for byte."""
    import json

    from ecsnetsim.scenario import variants_of
    from ecsnetsim.simulate import PROGRESS_STEPS, run_variant

    sc = ecsnetsim.load_scenario(SCENARIOS / "bridge-contention.yaml", overrides=[
        "duration=0.02s", "warmup=0s", "sweep={}", "compare={}"])
    (spec,) = variants_of(sc)
    fractions = []
    stepped = run_variant(spec, 7, fractions.append)
    assert fractions == [k / PROGRESS_STEPS for k in range(1, PROGRESS_STEPS + 1)]
    assert json.dumps(stepped, sort_keys=True) == json.dumps(run_variant(spec, 7), sort_keys=True)
    assert stepped["flows"][0]["delivered"] > 0


def test_one_variant_on_a_terminal_shows_simulated_time(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    sc = ecsnetsim.load_scenario(SCENARIOS / "bridge-contention.yaml", overrides=[
        "duration=0.01s", "warmup=0s", "sweep={}", "compare={}"])
    ecsnetsim.simulate(sc, progress=True)
    shown = err.getvalue()
    assert "base: simulated 0.01 s:   0%|" in shown


def test_every_calibrated_kind_is_documented_with_its_source():
    doc = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    for kind, params in default_profile().items():
        assert f"| `{kind}` |" in doc, kind
        assert params.source, kind
