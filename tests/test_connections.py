"""Connection-level flows: each limit hit and not hit at a rate worked out by hand with
Little's law (connections open at once = rate x lifetime), the counters equal to the
packets dropped, dynamic host ports colliding with the kernel's ephemeral ports at the
rate the ports held predict, the link-local allowance dropping (not queueing) IMDS
traffic; reproducible, and the same in the compiled and the pure-Python engine."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PRIVATE_VPC, ROOT, SCENARIOS, first_variant, hairpin_scenario, make_scenario

import ecsnetsim
from ecsnetsim import report
from ecsnetsim.model import conntrack as ct
from ecsnetsim.model import resources


def _egress(mode: str, rate: float, hold: float, duration: float, **group) -> dict:
    """One instance in a private subnet behind a NAT gateway; its one task opens
    connections to the internet at ``rate`` (constant arrivals), each held ``hold``."""
    return make_scenario(
        duration=duration, vpc=PRIVATE_VPC,
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "private-a", **group}]},
        services=[{"name": "s", "desired_count": 1, "network_mode": mode, "cpu": 256,
                   "memory": 256}],
        traffic=[{"name": "out", "from": "s", "to": "internet", "port": 443,
                  "arrival": "constant",
                  "connections": {"rate": rate, "requests": 1, "hold": hold}}])


def _instance(v: dict) -> dict:
    return v["placement"]["instances"][0]


# ---- conntrack ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bridge", "host"])
def test_conntrack_not_hit_below_its_max(mode):
    # 50/s held 1 s: 50 open at once (one more at an instant a close and an open tie)
    v = first_variant(_egress(mode, 50, 1.0, 3.0, conntrack_max=100))
    f, inst = v["flows"][0], _instance(v)
    assert f["connections"]["failed"] == {} and f["dropped"] == 0
    assert 50 <= inst["conntrack"]["peak"] <= 51 and inst["conntrack"]["dropped"] == 0
    assert inst["conntrack"]["max"] == 100


@pytest.mark.parametrize("mode", ["bridge", "host"])
def test_conntrack_full_drops_new_connections_and_counts_them(mode):
    # 200/s held 1 s wants 200 open; the table holds 100, full at 0.5 s. Per half
    # second 100 arrive and the ones opened a second earlier close: [0.5, 1) none close,
    # 100 dropped; [1, 1.5) 100 close, none dropped; [1.5, 2) 100 dropped; [2, 2.5) none;
    # [2.5, 3) 100 dropped: 300 of 600 (half, as 100 / (200 x 1 s) says)
    v = first_variant(_egress(mode, 200, 1.0, 3.0, conntrack_max=100))
    f, inst = v["flows"][0], _instance(v)
    dropped = inst["conntrack"]["dropped"]
    assert inst["conntrack"]["peak"] == 100
    assert dropped == f["dropped"] == f["connections"]["failed"][
        "nf_conntrack: table full, dropping packet"]
    assert dropped == pytest.approx(300, abs=3)
    assert f["connections"]["opened"] + dropped == f["sent"] == 600
    assert f["drops"] == {"nf_conntrack: table full, dropping packet": dropped}


def test_conntrack_default_is_the_kernels_for_the_memory():
    assert ct.kernel_conntrack_max(8 * 2**30) == 262144
    assert ct.kernel_conntrack_max(int(3.9 * 2**30)) == 65536
    assert ct.kernel_conntrack_max(2**30) == 1024 * 8  # 1 GiB: RAM / 16384 / 8
    v = first_variant(_egress("bridge", 10, 1.0, 1.0))
    assert _instance(v)["conntrack"]["max"] == 262144  # m5.large: 8 GiB


def test_awsvpc_tasks_track_in_their_own_namespace():
    sc = _egress("bridge", 300, 1.0, 2.0, conntrack_max=200)
    sc["services"][0]["desired_count"] = 2
    bridge = first_variant(sc)
    sc["services"][0]["network_mode"] = "awsvpc"
    awsvpc = first_variant(sc)
    # 300 open at once: one host table of 200 in bridge, two task tables in awsvpc
    assert _instance(bridge)["conntrack"]["dropped"] > 0
    assert _instance(awsvpc)["conntrack"]["dropped"] == 0
    assert _instance(awsvpc)["conntrack"]["peak"] < 200


# ---- AWS's tracked connections ------------------------------------------------------------
def test_conntrack_allowance_exceeded_counts_refused_connections():
    hit = first_variant(_egress("host", 200, 1.0, 2.0, conntrack_allowance=50))
    ok = first_variant(_egress("host", 40, 1.0, 2.0, conntrack_allowance=50))
    f = hit["flows"][0]
    n = _instance(hit)["ena"]["conntrack_allowance_exceeded"]
    assert n == f["dropped"] == f["connections"]["failed"]["conntrack_allowance_exceeded"] > 0
    assert _instance(ok)["ena"]["conntrack_allowance_exceeded"] == 0
    assert ok["flows"][0]["dropped"] == 0


# ---- NAT gateway ------------------------------------------------------------------------
def _three_tasks(sc: dict) -> dict:
    # three senders, so that none needs more than its namespace's 28,232 source ports
    sc["services"][0]["desired_count"] = 3
    return sc


def test_nat_gateway_error_port_allocation_at_55000_per_destination():
    # 1000/s held 60 s: 55,000 open at 55 s; nothing closes before 60 s, so about
    # 5 s x 1000/s are refused; with two destinations at most ~30,000 each
    one = first_variant(_three_tasks(_egress("bridge", 1000, 60.0, 65.0)))
    gw = one["nat_gateways"][0]
    f = one["flows"][0]
    assert gw["peak_connections_per_destination"] == ct.NAT_GATEWAY_PORTS_PER_DESTINATION
    assert gw["error_port_allocation"] == f["dropped"] == \
        f["connections"]["failed"]["ErrorPortAllocation"]
    assert gw["error_port_allocation"] == pytest.approx(5000, abs=10)
    sc = _three_tasks(_egress("bridge", 1000, 60.0, 65.0))
    sc["traffic"][0]["connections"]["destinations"] = 2
    two = first_variant(sc)
    assert two["nat_gateways"][0]["error_port_allocation"] == 0
    assert two["nat_gateways"][0]["peak_connections_per_destination"] < 34000


def test_one_namespace_runs_out_of_source_ports_to_one_destination():
    # one bridge task, 1000/s held 30 s to one address: 30,000 wanted, 28,232 ports in its
    # namespace's range; refused from 28.232 s until the first close at 30 s
    v = first_variant(_egress("bridge", 1000, 30.0, 31.0))
    f = v["flows"][0]
    size = ct.LINUX_EPHEMERAL_RANGE[1] - ct.LINUX_EPHEMERAL_RANGE[0] + 1
    assert f["connections"]["peak_open"] == size
    n = f["connections"]["failed"]["EADDRNOTAVAIL"]
    assert n == f["dropped"] == _instance(v)["ephemeral_ports"]["exhausted"]
    assert n == pytest.approx(30_000 - size, abs=3)
    assert v["nat_gateways"][0]["error_port_allocation"] == 0
    # spread over two addresses, ports are unique per destination: none refused
    sc = _egress("bridge", 1000, 30.0, 31.0)
    sc["traffic"][0]["connections"]["destinations"] = 2
    assert first_variant(sc)["flows"][0]["dropped"] == 0


# ---- link-local allowance ---------------------------------------------------------------
def _imds(rate: float, duration: float = 1.0) -> dict:
    return make_scenario(
        duration=duration,
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "a"}]},
        services=[{"name": "s", "desired_count": 1, "network_mode": "host", "cpu": 256,
                   "memory": 256}],
        traffic=[{"name": "md", "from": "s", "to": "imds", "rate": rate,
                  "arrival": "constant", "size": 100}])


def test_imds_excess_is_dropped_not_queued():
    v = first_variant(_imds(2048, 1.0))
    f = v["flows"][0]
    burst = ct.LINKLOCAL_PPS * ct.LINKLOCAL_BURST_S
    # a token bucket of 1024/s and 102.4 tokens passes 1024 x 1 s + 102 of 2048 sent
    assert f["sent"] == 2048
    assert f["delivered"] == pytest.approx(1024 + burst, abs=2)
    assert f["dropped"] == _instance(v)["ena"]["linklocal_allowance_exceeded"]
    assert f["drops"] == {"linklocal_allowance_exceeded": f["dropped"]}
    assert f["dropped"] + f["delivered"] + f["in_flight"] == f["sent"]
    # not queued: the slowest packet took no longer than an idle one, give or take jitter
    assert f["latency_us"]["max"] < 2 * f["latency_us"]["min"]


def test_imds_below_the_allowance_is_not_dropped():
    v = first_variant(_imds(1000, 1.0))
    assert v["flows"][0]["dropped"] == 0
    assert _instance(v)["ena"]["linklocal_allowance_exceeded"] == 0


# ---- ephemeral ports and dynamic host ports ------------------------------------------------
def _collision(rate: float, eph: str, dyn: str | None, tasks: int, agent_picks: bool = True,
               start_delay: float = 1.0) -> dict:
    group = {"name": "g", "type": "m5.xlarge", "count": 1, "subnet": "private-a",
             "ephemeral_port_range": eph, "agent_assigns_host_ports": agent_picks,
             "agent": {"container_start_delay": start_delay}}
    if dyn:
        group["dynamic_host_port_range"] = dyn
    return make_scenario(
        duration=140, vpc=PRIVATE_VPC, cluster={"instance_groups": [group]},
        services=[{"name": "poller", "desired_count": 1, "network_mode": "host", "cpu": 64,
                   "memory": 64},
                  {"name": "web", "desired_count": 1, "network_mode": "bridge", "cpu": 4,
                   "memory": 16,
                   "containers": [{"name": "w", "port_mappings": [{"container_port": 80}]}]}],
        traffic=[{"name": "calls", "from": "poller", "to": "internet", "port": 443,
                  "arrival": "constant", "connections": {"rate": rate, "hold": 50}}],
        events=[{"at": 60, "scale": "web", "desired_count": tasks}])


def test_disjoint_ranges_never_collide():
    v = first_variant(_collision(10, "40000-40999", "41000-41999", 80))
    web = v["placement"]["services"][1]
    assert web["launch_failures"] == {} and web["running"] == 80
    assert _instance(v)["ephemeral_ports"]["peak"] == 500


def _failed_share(runs: list[dict]) -> float:
    failed = sum(v["placement"]["services"][1]["launch_failures"].get(
        "port is already allocated", 0) for v in runs)
    started = sum(v["placement"]["services"][1]["running"] - 1 for v in runs)
    return failed / (failed + started)


def test_ports_docker_picks_collide_at_the_share_of_ports_held():
    # 10/s held 50 s: 500 of the 1000 ports held; Docker picks in turn, blind to them, so a
    # dynamic port is held with probability 0.5 when the container binds it
    runs = [first_variant(_collision(10, "40000-40999", None, 80, agent_picks=False), seed=s)
            for s in (1, 2, 3)]
    held = _instance(runs[0])["ephemeral_ports"]["peak"] / 1000
    assert held == pytest.approx(0.5, abs=0.002)
    # binomial standard error over ~480 starts is 0.023; the picks in turn are
    # correlated, so allow 4 of them
    assert _failed_share(runs) == pytest.approx(held, abs=0.1)


def test_ports_the_agent_picks_collide_only_when_taken_before_the_start():
    # the agent skips the 500 held ports; a connection takes one of the ~500 free ones
    # with probability 1/500 (on average over the scan's random offset), and 10/s x the
    # 10 s between the pick and the container's start open 100 connections:
    # 1 - exp(-100 / 500) = 0.18 of the starts fail
    runs = [first_variant(_collision(10, "40000-40999", None, 80, start_delay=10.0), seed=s)
            for s in (1, 2, 3)]
    expected = 1 - math.exp(-10 * 10.0 / 500)
    assert _failed_share(runs) == pytest.approx(expected, abs=0.07)
    # a 1 s window: 2 %
    quick = [first_variant(_collision(10, "40000-40999", None, 80), seed=s) for s in (1, 2, 3)]
    assert _failed_share(quick) < 0.06


# ---- results and reproducibility ------------------------------------------------------------
def test_packet_flows_carry_no_connection_fields():
    sc = make_scenario(duration=0.2, traffic=[{"name": "p", "from": "client", "to": "s",
                                               "port": 80, "rate": 100}])
    sc["services"][0]["containers"] = [{"name": "c", "port_mappings": [{"container_port": 80}]}]
    v = first_variant(sc)
    assert "connections" not in v["flows"][0]
    assert not {"conntrack", "ena", "ephemeral_ports"} & set(_instance(v))
    assert "nat_gateways" not in v


def test_same_seed_same_bytes_and_the_summary_names_the_limit():
    sc = _egress("bridge", 200, 1.0, 2.0, conntrack_max=100)
    a = ecsnetsim.simulate(sc, seed=4, workers=1)
    b = ecsnetsim.simulate(sc, seed=4, workers=1)
    assert json.dumps(a.document, sort_keys=True) == json.dumps(b.document, sort_keys=True)
    text = report.summary(a)
    n = _instance(a.document["variants"][0])["conntrack"]["dropped"]
    assert f"nf_conntrack: table full, dropping packet x{n}" in text
    assert "conntrack table full on 1 instance" in report.answer(a)


def test_every_per_instance_resource_is_declared_once():
    names = [r.name for r in resources.RESOURCES]
    assert len(names) == len(set(names))
    assert {"cpu", "memory", "eni", "branch_eni", "conntrack", "ephemeral_ports"} <= set(names)
    v = first_variant(_egress("bridge", 200, 1.0, 2.0, conntrack_max=100))
    hit = resources.limits_hit(v["placement"]["instances"])
    assert [r.name for _i, r, _u in hit] == ["conntrack"]


def test_packet_fate_is_drawn_for_named_drops_and_names_them():
    from ecsnetsim.plots import figdata, pathdata

    v = first_variant(_egress("bridge", 200, 1.0, 2.0, conntrack_max=100))
    doc = {"variants": [v]}
    assert v["flows"][0]["unreachable"] == 0 and figdata.APPLIES["packet_fate"](doc)
    n = v["flows"][0]["dropped"]
    assert pathdata.packet_fate(doc).bars[0].reason == \
        f"dropped: nf_conntrack: table full, dropping packet \u00d7{n:,}"


@pytest.mark.parametrize("name", ["conntrack-bridge-vs-awsvpc", "imds-throttling"])
def test_compiled_and_pure_engines_agree(tmp_path, name):
    out = {}
    for pure in ("0", "1"):
        env = {**os.environ, "ECSNETSIM_PURE_PYTHON": pure}
        dest = tmp_path / pure
        subprocess.run([sys.executable, "-m", "ecsnetsim", "run", str(SCENARIOS / f"{name}.yaml"),
                        "-o", str(dest), "--no-plots", "--quiet", "--workers", "1",
                        "--set", "duration=3s",
                        "--set", "cluster.instance_groups[0].conntrack_max=2000"],
                       check=True, env=env, cwd=ROOT, capture_output=True)
        out[pure] = (dest / "results.json").read_bytes()
    a, b = (json.loads(out[k]) for k in ("0", "1"))
    assert a["variants"] == b["variants"]
    if name == "conntrack-bridge-vs-awsvpc":  # the limit was hit, in both
        assert a["variants"][0]["flows"][0]["connections"]["failed"]


def test_connection_scenarios_agree_with_their_claims():
    for name in ("nat-port-exhaustion", "conntrack-bridge-vs-awsvpc", "imds-throttling",
                 "ephemeral-collision"):
        assert (SCENARIOS / f"{name}.yaml").exists()
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "imds-throttling.yaml"),
                             workers=1)
    assert res.document["expectations"]["agrees"] is True


def test_bad_connection_input_is_a_located_error(tmp_path):
    path = tmp_path / "bad.yaml"
    text = (SCENARIOS / "imds-throttling.yaml").read_text().replace(
        "type: m5.large", "type: m5.large\n      ephemeral_port_range: 61000-1024")
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "ecsnetsim", "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "ephemeral_port_range" in proc.stderr and "Traceback" not in proc.stderr
    assert Path(path).name in proc.stderr


@pytest.mark.parametrize("flow, said", [
    ("{name: x, from: s, to: internet, rate: 10/s, connections: {rate: 5/s}}",
     "give the rate as connections.rate"),
    ("{name: x, from: s, to: imds, connections: {rate: 5/s, destinations: 2}}",
     "it needs to: internet"),
    ("{name: x, from: s, to: internet, connections: {rate: 0}}", "connections.rate"),
    ("{name: x, from: s, to: internet, connections: {rate: 5/s, hold: -1s}}",
     "connections.hold"),
])
def test_connection_fields_are_checked_at_load(tmp_path, flow, said):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: bad\nvpc:\n  subnets:\n    - {name: a, cidr: 10.0.0.0/24}\n"
                    "services:\n  - {name: s, network_mode: host}\n"
                    f"traffic:\n  - {flow}\n")
    proc = subprocess.run([sys.executable, "-m", "ecsnetsim", "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert said in proc.stderr and "bad.yaml:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_replications_add_up_connections_and_named_drops():
    sc = ecsnetsim.load_scenario(SCENARIOS / "conntrack-bridge-vs-awsvpc.yaml",
                                 ["duration=2s", "cluster.instance_groups[0].conntrack_max=1000",
                                  "compare={}"])
    one = [ecsnetsim.simulate(sc, seed=s, workers=1).document["variants"][0]["flows"][0]
           for s in ecsnetsim.replications.seeds(7, 2)]
    both = ecsnetsim.simulate(sc, seed=7, replications=2, workers=1).document
    f = both["variants"][0]["flows"][0]
    name = "nf_conntrack: table full, dropping packet"
    assert f["dropped"] == sum(x["dropped"] for x in one) == f["drops"][name]
    assert f["connections"]["opened"] == sum(x["connections"]["opened"] for x in one)
    assert f["connections"]["peak_open"] == max(x["connections"]["peak_open"] for x in one)


def test_docker_proxy_hairpin_holds_two_entries_and_a_host_port():
    # a bridge task to another on the same instance by its host port: docker-proxy splices
    # two connections in the host namespace (two conntrack entries) and connects to the
    # container from a host ephemeral port; 50/s held 1 s: 50 open at once
    sc = hairpin_scenario(connections={"rate": 50, "requests": 1, "hold": 1.0})
    v = first_variant(sc)
    f, inst = v["flows"][0], _instance(v)
    assert "docker_proxy" in f["path"]
    assert f["connections"]["peak_open"] in (50, 51)
    assert inst["conntrack"]["peak"] == 2 * f["connections"]["peak_open"]
    assert inst["ephemeral_ports"]["peak"] == f["connections"]["peak_open"]


def test_same_results_in_one_process_and_on_a_pool():
    sc = ecsnetsim.load_scenario(SCENARIOS / "conntrack-bridge-vs-awsvpc.yaml",
                                 ["duration=3s", "cluster.instance_groups[0].conntrack_max=2000"])
    one = ecsnetsim.simulate(sc, workers=1).document
    pool = ecsnetsim.simulate(sc, workers=2).document
    assert json.dumps(one["variants"], sort_keys=True) == \
        json.dumps(pool["variants"], sort_keys=True)
    assert one["variants"][0]["flows"][0]["connections"]["failed"]
