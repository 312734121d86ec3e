"""An instance's ENA allowances (PPS, inbound and outbound bandwidth): each counter hit at
twice its allowance and not hit below it, at rates worked out by hand; the counters equal
the packets dropped; nothing queued; the same in the compiled and the pure-Python engine.

The hand rule: a token bucket of ``r`` per second and ``D`` tokens, full at the start,
passes ``D + r x T`` of a constant flow above ``r`` over ``T`` seconds; at ``2 r`` it drops
``r x T - D`` of ``2 r x T`` sent (half, less the burst).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import PRIVATE_VPC, ROOT, SCENARIOS, first_variant, make_scenario

import ecsnetsim
from ecsnetsim import catalog, report
from ecsnetsim.model import resources
from ecsnetsim.net import ena
from ecsnetsim.net.engine import Allowance, Device, Engine, Environment, FlowStats, Route

RATE = 2000.0  # the allowance under test: 2000 packets/s, or 2000 x 1000 bytes/s
WINDOW = 0.1  # its bucket holds 0.1 s of it: 200 packets
T = 4.0  # seconds sent



def _group(**allowances) -> dict:
    return {"name": "g", "type": "m5.large", "count": 1, "subnet": "private-a",
            "ena_allowances": {"window": WINDOW, **allowances}}


def _inbound(rate: float, **allowances) -> dict:
    """A client sends ``rate`` packets/s of 1000 bytes (constant) to a host-mode task: they
    cross the instance's ENI inward only."""
    return make_scenario(
        duration=T, vpc=PRIVATE_VPC,
        cluster={"instance_groups": [_group(**allowances)]},
        services=[{"name": "s", "desired_count": 1, "network_mode": "host", "cpu": 256,
                   "memory": 256, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 80}]}]}],
        traffic=[{"name": "in", "from": "client", "to": "s", "rate": rate,
                  "arrival": "constant", "size": 1000}])


def _outbound(rate: float, **allowances) -> dict:
    """A host-mode task sends ``rate`` packets/s of 1000 bytes to the internet through a NAT
    gateway: they cross its instance's ENI outward only."""
    return make_scenario(
        duration=T, vpc=PRIVATE_VPC,
        cluster={"instance_groups": [_group(**allowances)]},
        services=[{"name": "s", "desired_count": 1, "network_mode": "host", "cpu": 256,
                   "memory": 256}],
        traffic=[{"name": "out", "from": "s", "to": "internet", "port": 443, "rate": rate,
                  "arrival": "constant", "size": 1000}])


def _ena(v: dict) -> dict:
    return v["placement"]["instances"][0].get("ena") or {}


PASSED = RATE * WINDOW + RATE * T  # what a flow above the allowance gets through


# ---- each counter hit at twice its allowance, not hit below it ---------------------------
CASES = [
    ("pps_allowance_exceeded", _inbound, {"pps": RATE}),
    ("pps_allowance_exceeded", _outbound, {"pps": RATE}),
    ("bw_in_allowance_exceeded", _inbound, {"bandwidth": RATE * 1000, "burst": 0}),
    ("bw_out_allowance_exceeded", _outbound, {"bandwidth": RATE * 1000, "burst": 0}),
]


@pytest.mark.parametrize(("counter", "scenario", "allowances"), CASES)
def test_twice_the_allowance_drops_half_less_the_burst(counter, scenario, allowances):
    v = first_variant(scenario(2 * RATE, **allowances))
    f = v["flows"][0]
    assert f["sent"] == 2 * RATE * T
    assert f["delivered"] + f["in_flight"] == pytest.approx(PASSED, abs=2)
    assert f["dropped"] == pytest.approx(2 * RATE * T - PASSED, abs=2)
    # the counter is the packets dropped, named on the flow too; no other counter moved
    assert _ena(v) == {counter: f["dropped"]}
    assert f["drops"] == {counter: f["dropped"]}
    assert f["dropped"] + f["delivered"] + f["in_flight"] == f["sent"]


@pytest.mark.parametrize(("counter", "scenario", "allowances"), CASES)
def test_below_the_allowance_nothing_is_dropped(counter, scenario, allowances):
    v = first_variant(scenario(0.95 * RATE, **allowances))
    f = v["flows"][0]
    assert f["sent"] == 0.95 * RATE * T and f["dropped"] == 0 and "drops" not in f
    assert counter not in _ena(v)


def test_dropped_not_queued():
    """Packets beyond the allowance are dropped at once: the ones that pass wait no longer
    than at a light load."""
    light = first_variant(_inbound(0.5 * RATE, pps=RATE))["flows"][0]
    heavy = first_variant(_inbound(2 * RATE, pps=RATE))["flows"][0]
    assert heavy["dropped"] > 0
    assert heavy["latency_us"]["max"] < 1.5 * light["latency_us"]["max"]


def test_the_burst_passes_then_the_rate():
    """A flow at twice the allowance for less than the burst lasts (the bucket's 200
    packets drain at 2000/s net: 0.1 s) loses nothing."""
    sc = _inbound(2 * RATE, pps=RATE)
    sc["duration"] = 0.09
    f = first_variant(sc)["flows"][0]
    assert f["sent"] == 2 * RATE * 0.09 and f["dropped"] == 0


def test_warmup_drains_the_bucket_before_the_count():
    """With a warm-up (1 s, within the duration) longer than the burst, the measured
    window starts with an empty bucket: exactly the allowance's rate passes, and the
    counter counts only from then."""
    sc = _inbound(2 * RATE, pps=RATE)
    sc["warmup"] = 1.0
    v = first_variant(sc)
    f = v["flows"][0]
    assert f["sent"] == 2 * RATE * (T - 1.0)
    assert f["delivered"] + f["in_flight"] == pytest.approx(RATE * (T - 1.0), abs=2)
    assert _ena(v)["pps_allowance_exceeded"] == f["dropped"]


def test_pps_counts_both_directions_of_a_hairpin():
    """awsvpc task to awsvpc task on one instance leaves through one ENI and comes back
    through the other: two packets of the instance's PPS allowance per packet sent."""
    def hairpin(rate: float) -> dict:
        return make_scenario(
            duration=T, vpc=PRIVATE_VPC,
            cluster={"instance_groups": [_group(pps=RATE)]},
            services=[{"name": "a", "desired_count": 1, "network_mode": "awsvpc", "cpu": 256,
                       "memory": 256},
                      {"name": "b", "desired_count": 1, "network_mode": "awsvpc", "cpu": 256,
                       "memory": 256, "containers": [{"name": "c", "port_mappings": [
                           {"container_port": 80}]}]}],
            traffic=[{"name": "ab", "from": "a", "to": "b", "rate": rate,
                      "arrival": "constant", "size": 100}])
    ok = first_variant(hairpin(0.45 * RATE))["flows"][0]  # 900/s: 1800 crossings/s
    assert ok["dropped"] == 0 and ok["delivered"] + ok["in_flight"] == ok["sent"]
    v = first_variant(hairpin(0.75 * RATE))  # 1500/s: 3000 crossings/s of 2000
    f = v["flows"][0]
    assert f["dropped"] == _ena(v)["pps_allowance_exceeded"] > 0
    # 2000 x 4 s + 200 crossings at most; a delivered packet took two
    assert f["delivered"] + f["in_flight"] <= (RATE * T + RATE * WINDOW) / 2 + 2


# ---- the engine's allowance, both cores ------------------------------------------------------
def _burst(allowance: Allowance, sizes: list[float], outbound: bool = False) -> FlowStats:
    env = Environment()
    engine = Engine(env)
    eni = Device("i-1/eni:x", kind="eni", latency=1e-6, allowance=allowance,
                 outbound=outbound)
    flow = FlowStats("f")
    for size in sizes:
        engine.send(Route((eni,), flow), size=size)
    env.run()
    return flow


def test_engine_allowance_counts_the_first_bucket_exceeded():
    # PPS 1000 with 3 tokens; inbound 1000 bytes/s with 2500 bytes: of four packets of
    # 1000 bytes sent at once, two pass, the third finds 500 bytes (bw_in), the fourth
    # still a PPS token (the refused third took none)
    a = Allowance("i-1", pps=1000.0, pps_depth=3.0, bw_in=1000.0, bw_in_depth=2500.0)
    flow = _burst(a, [1000.0] * 4)
    assert (flow.delivered, flow.dropped) == (2, 2)
    assert a.counters() == {"pps_allowance_exceeded": 0, "bw_in_allowance_exceeded": 2,
                            "bw_out_allowance_exceeded": 0}
    assert a.drops_of(flow) == {"bw_in_allowance_exceeded": 2}
    b = Allowance("i-2", pps=1000.0, pps_depth=3.0, bw_out=1000.0, bw_out_depth=2500.0)
    flow = _burst(b, [100.0] * 4, outbound=True)  # small packets: PPS binds first
    assert (flow.delivered, flow.dropped) == (3, 1)
    assert b.counters()["pps_allowance_exceeded"] == 1


def test_engine_allowance_refuses_bad_parameters():
    with pytest.raises(ValueError, match="pps must be a finite rate > 0"):
        Allowance("i-1", pps=0.0)
    with pytest.raises(ValueError, match="pps depth must be >= 1"):
        Allowance("i-1", pps=10.0, pps_depth=0.5)


def test_compiled_and_pure_engines_agree(tmp_path):
    """A run that hits all three counters gives the same bytes in both engines."""
    path = tmp_path / "ena.json"
    # offered: 6000 + 12000 packets/s in, 6000 out, of 10,000; what passes it, about
    # 42 %, is still above 2 MB/s each way
    sc = _inbound(3 * RATE, pps=5 * RATE, bandwidth=RATE * 1000, burst=0)
    sc["services"].append({"name": "o", "desired_count": 1, "network_mode": "host",
                           "cpu": 256, "memory": 256})
    sc["traffic"] += [
        {"name": "out", "from": "o", "to": "internet", "port": 443, "rate": 3 * RATE,
         "arrival": "poisson", "size": 1000},
        {"name": "small", "from": "client", "to": "s", "rate": 6 * RATE, "size": 64}]
    sc["duration"] = 1.0
    path.write_text(json.dumps(sc))
    out = {}
    for pure in ("0", "1"):
        env = {**os.environ, "ECSNETSIM_PURE_PYTHON": pure}
        dest = tmp_path / pure
        subprocess.run([sys.executable, "-m", "ecsnetsim", "run", str(path), "-o", str(dest),
                        "--no-plots", "--quiet", "--workers", "1"],
                       check=True, env=env, cwd=ROOT, capture_output=True)
        out[pure] = (dest / "results.json").read_bytes()
    assert out["0"] == out["1"]
    counters = json.loads(out["0"])["variants"][0]["placement"]["instances"][0]["ena"]
    assert set(counters) == {"pps_allowance_exceeded", "bw_in_allowance_exceeded",
                             "bw_out_allowance_exceeded"} and all(counters.values())


# ---- defaults, results and words ---------------------------------------------------------------
def test_defaults_from_the_type():
    a = ena.allowance_of("i-1", catalog.get("m5.large"), None)
    # 100,000 packets/s per Gbps of the 10 Gbps peak; 0.75 Gbps baseline per direction
    assert a.pps_rate == pytest.approx(1e6) and a.in_rate == a.out_rate == 0.75e9 / 8
    # credits for 300 s at the peak, above the baseline, plus 10 ms of the baseline
    assert a.in_limit * a.in_rate == pytest.approx((10e9 - 0.75e9) / 8 * 300 + 0.75e9 / 8 * 0.01)
    flat = catalog.get("c5.9xlarge")  # 10 Gbps, no burst: no credits
    assert flat.baseline_gbps == flat.peak_gbps
    b = ena.allowance_of("i-2", flat, None)
    assert b.in_limit == pytest.approx(0.01)


def test_a_run_within_the_allowances_reports_no_ena_counter():
    v = first_variant(_inbound(0.5 * RATE))  # m5.large's defaults: nowhere near
    assert "ena" not in v["placement"]["instances"][0]
    assert "drops" not in v["flows"][0]


def test_summary_and_answer_name_the_counter():
    a = ecsnetsim.simulate(_inbound(2 * RATE, pps=RATE), seed=1, workers=1)
    n = a.document["variants"][0]["flows"][0]["dropped"]
    assert f"pps_allowance_exceeded x{n}" in report.summary(a)
    assert "ENA PPS allowance exceeded on 1 instance" in report.answer(a)
    hit = resources.limits_hit(a.document["variants"][0]["placement"]["instances"])
    assert [(r.name, u.exceeded) for _i, r, u in hit] == [("pps", n)]


def test_bad_allowance_is_a_located_error(tmp_path, capsys):
    from conftest import run_cli

    sc = _inbound(RATE, pps=RATE)
    sc["cluster"]["instance_groups"][0]["ena_allowances"]["pps"] = "-5/s"
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(sc))
    rc, _out, err = run_cli(capsys, "validate", path)
    assert rc == 2
    assert "cluster.instance_groups[0].ena_allowances.pps" in err and "Traceback" not in err


def test_claims_read_the_counters():
    sc = _inbound(2 * RATE, pps=RATE)
    sc["expect"] = ["instances.ena.pps_allowance_exceeded.sum == flow in.dropped",
                    "instances.ena.pps_allowance_exceeded.sum > 7000"]
    doc = ecsnetsim.simulate(sc, seed=1, workers=1).document
    assert doc["expectations"]["agrees"] is True
    assert [c["pass"] for c in doc["expectations"]["claims"]] == [True, True]


def test_a_counter_that_did_not_count_reads_0_in_claims():
    """The counters are written only once they count (older results stay byte-identical);
    where the run modelled the instance's allowances, an absent one is a count of 0 in a
    claim, not a missing value: with no ``ena`` block at all (a run within them), and
    beside a counter that counted. A run that carried no traffic did not model them."""
    zero = ["instances.ena.pps_allowance_exceeded.sum == 0",
            "instances.ena.bw_in_allowance_exceeded.max == 0",
            "instances.ena.bw_out_allowance_exceeded.min == 0",
            "instances.ena.linklocal_allowance_exceeded.sum == 0"]
    within = _inbound(0.5 * RATE)
    within["expect"] = zero
    doc = ecsnetsim.simulate(within, seed=1, workers=1).document
    assert "ena" not in doc["variants"][0]["placement"]["instances"][0]
    assert [c["checks"][0]["left"] for c in doc["expectations"]["claims"]] == [0, 0, 0, 0]
    assert doc["expectations"]["agrees"] is True

    over = _inbound(2 * RATE, pps=RATE)
    over["expect"] = ["instances.ena.pps_allowance_exceeded.sum == flow in.dropped", *zero[1:]]
    doc = ecsnetsim.simulate(over, seed=1, workers=1).document
    assert set(doc["variants"][0]["placement"]["instances"][0]["ena"]) == {
        "pps_allowance_exceeded"}
    claims = doc["expectations"]["claims"]
    assert claims[0]["checks"][0]["left"] > 0
    assert [c["checks"][0]["left"] for c in claims[1:]] == [0, 0, 0]
    assert doc["expectations"]["agrees"] is True

    idle = _inbound(RATE)
    idle["traffic"], idle["expect"] = [], zero[:1]
    doc = ecsnetsim.simulate(idle, seed=1, workers=1).document
    claim = doc["expectations"]["claims"][0]
    assert claim["checks"][0]["left"] is None and claim["pass"] is False


@pytest.mark.parametrize(("counter", "scenario", "allowances", "limit"), [
    ("pps_allowance_exceeded", _inbound, {"pps": RATE}, "limit 2000 packets/s"),
    ("bw_in_allowance_exceeded", _inbound, {"bandwidth": RATE * 1000, "burst": 0},
     "limit 2000000 bytes/s (0.016 Gbps)"),
    ("bw_out_allowance_exceeded", _outbound, {"bandwidth": RATE * 1000, "burst": 0},
     "limit 2000000 bytes/s (0.016 Gbps)"),
])
def test_the_summary_names_the_allowance_hit(counter, scenario, allowances, limit):
    """Once a counter counts, the instance's row carries the allowances it counted against
    (those of ``ena.allowance_of`` for its type and group) and the summary prints the
    limit's value beside the counter, not where the default comes from."""
    res = ecsnetsim.simulate(scenario(2 * RATE, **allowances), seed=1, workers=1)
    v = res.document["variants"][0]
    row = v["placement"]["instances"][0]
    settings = ecsnetsim.load_scenario(scenario(RATE, **allowances)).cluster.instance_groups[0]
    a = ena.allowance_of("i", catalog.get("m5.large"), settings.ena_allowances)
    assert row["ena_allowances"] == {"pps": a.pps_rate, "bandwidth_in": a.in_rate,
                                     "bandwidth_out": a.out_rate}
    n = v["flows"][0]["dropped"]
    assert f"{row['id']}: {counter} x{n} ({limit})" in report.summary(res)


def test_the_allowances_stay_out_of_a_run_within_them():
    row = first_variant(_inbound(0.5 * RATE, pps=RATE))["placement"]["instances"][0]
    assert "ena_allowances" not in row and "ena" not in row


def test_ena_allowances_scenario_drops_what_the_pps_allowance_leaves():
    """scenarios/ena-allowances.yaml: 600,000 packets/s (Poisson) into a host-mode task.
    The default PPS allowance is 100,000 packets/s per Gbps of peak bandwidth: 500,000 for
    every t3 (up to 5 Gbps), 1,000,000 for an m5.large (up to 10). Its 10 ms bucket
    (5,000 packets) empties in the 0.06 s warm-up (at 100,000/s net), so over the 0.06 s
    counted a t3 passes 500,000 x 0.06 = 30,000 and drops the rest, a sixth; the drops
    are all the card's."""
    path = SCENARIOS / "ena-allowances.yaml"
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(path), workers=1)
    by = {v["name"]: v for v in res.variants}
    for name in ("t3.large", "t3.xlarge"):
        f, row = by[name]["flows"][0], by[name]["placement"]["instances"][0]
        counted = 0.06
        assert f["sent"] == pytest.approx(600_000 * counted, rel=0.02)
        assert f["delivered"] + f["in_flight"] == pytest.approx(500_000 * counted, rel=0.01)
        assert row["ena"] == {"pps_allowance_exceeded": f["dropped"]}
        assert row["ena_allowances"]["pps"] == 100_000 * catalog.get(name).peak_gbps
        assert f["drops"] == {"pps_allowance_exceeded": f["dropped"]}
    assert by["t3.xlarge"]["flows"][0]["dropped"] == pytest.approx(
        by["t3.large"]["flows"][0]["dropped"], rel=0.01)  # the vCPUs change nothing here
    m5 = by["m5.large"]
    assert m5["flows"][0]["dropped"] == 0 and "ena" not in m5["placement"]["instances"][0]
    assert res.document["expectations"]["agrees"] is True
    assert "(limit 500000 packets/s)" in report.summary(res)


def test_the_summary_names_the_tracked_connections_allowance():
    """200 connections/s held 1 s want 200 tracked at once; the group allows 50: the row
    carries the 50 beside conntrack_allowance_exceeded, and the summary prints it."""
    sc = _outbound(RATE)
    sc["cluster"]["instance_groups"][0] = {"name": "g", "type": "m5.large", "count": 1,
                                           "subnet": "private-a", "conntrack_allowance": 50}
    del sc["traffic"][0]["rate"]
    sc["traffic"][0]["connections"] = {"rate": 200, "requests": 1, "hold": 1}
    sc["duration"] = 2.0
    res = ecsnetsim.simulate(sc, seed=1, workers=1)
    row = res.document["variants"][0]["placement"]["instances"][0]
    n = row["ena"]["conntrack_allowance_exceeded"]
    assert n > 0 and row["ena_allowances"]["tracked_connections"] == 50
    assert f"conntrack_allowance_exceeded x{n} (limit 50 connections)" in report.summary(res)
