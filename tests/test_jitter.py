"""Latency distributions: the jitter draws, the engine with random delays and service, the
calibrated defaults against their published ranges, reproducibility in every build."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_scenario

import ecsnetsim
from ecsnetsim.calibration import default_profile, jitter
from ecsnetsim.net.engine import Device, Draws, Engine, Environment, FlowStats, Route
from ecsnetsim.net.traffic import Source

#: Every device kind's jitter off: constant delays, the engine as it was without jitter.
NO_JITTER = {kind: {"jitter": "none"} for kind in default_profile()}


# --------------------------------------------------------------------------- the draws
def _quantile_band(p: float, n: int, z: float = 4.0) -> tuple[float, float]:
    """The order-statistic ranks (as fractions) between which the sample ``p`` quantile
    of ``n`` draws lies with probability beyond 1 - 6e-5 (normal approximation of the
    binomial count below the true quantile)."""
    half = z * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


@pytest.mark.parametrize("dist,p50,p99", [("lognormal", 2e-6, 10e-6), ("lognormal", 0.6e-6, 26e-6),
                                          ("gamma", 3.7e-6, 8e-6), ("gamma", 1e-6, 40e-6)])
def test_draws_have_the_configured_median_and_p99(dist, p50, p99):
    """The fraction of many draws below the configured p50 and p99 is 0.50 and 0.99
    within sampling error (a binomial band of four standard deviations)."""
    n = 400_000
    spec = jitter.parse({"dist": dist, "p50": f"{p50 * 1e6}us", "p99": f"{p99 * 1e6}us"})
    x = spec.draw(np.random.default_rng(11), n)
    assert x.min() >= 0
    for q, value in ((0.5, p50), (0.99, p99)):
        lo, hi = _quantile_band(q, n)
        assert lo <= np.mean(x < value) <= hi, (dist, q)
    # and the mean the documentation quotes
    assert np.mean(x) == pytest.approx(spec.mean(), rel=8 * np.std(x) / np.mean(x) / math.sqrt(n))


def test_empirical_draws_follow_the_table():
    samples = [1, 2, 2, 3, 5, 8, 13, 40]
    spec = jitter.parse({"samples": [f"{s}us" for s in samples]})
    assert spec.dist == "empirical"
    x = spec.draw(np.random.default_rng(3), 200_000) * 1e6
    assert x.min() >= 1 and x.max() <= 40
    for q in (0.1, 0.5, 0.9):
        expected = np.quantile(samples, q)
        lo, hi = _quantile_band(q, len(x))
        assert lo <= np.mean(x < expected) <= hi or np.mean(x <= expected) >= lo


@pytest.mark.parametrize("value,path,words", [
    ({"dist": "weibull", "p50": "1us", "p99": "2us"}, ("dist",), "lognormal, gamma, empirical"),
    ({"dist": "gamma", "p50": "1us"}, ("p99",), "needs p99"),
    ({"p50": "3us", "p99": "2us"}, ("p99",), "above p50"),
    ({"p50": "0us", "p99": "2us"}, ("p50",), "> 0"),
    ({"p50": "fast", "p99": "2us"}, ("p50",), "duration"),
    ({"samples": ["1us"]}, ("samples",), "at least two"),
    ({"samples": ["1us", "-2us"]}, ("samples", 1), "negative"),
    ({"samples": ["1us", "2us"], "p50": "1us"}, ("p50",), "not percentiles"),
    ({"spread": 2}, ("spread",), "unknown jitter field"),
    ("lots", (), "expected none"),
])
def test_bad_jitter_is_named_with_its_field(value, path, words):
    (problem,) = jitter.check(value)
    assert problem[0] == path and words in problem[1]


def test_bad_jitter_in_a_scenario_exits_2_naming_the_field(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text("version: 1\nname: s\nduration: 0\nvpc:\n  subnets:\n"
                  "    - {name: a, cidr: 10.0.0.0/24, az: us-east-1a}\n"
                  "cluster:\n  instance_groups:\n    - {name: g, type: c5.large, count: 1}\n"
                  "services: []\ncalibration:\n  eni:\n"
                  "    jitter: {dist: gamma, p50: 5us, p99: 2us}\n")
    proc = subprocess.run([sys.executable, "-m", "ecsnetsim", "validate", str(sc)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "calibration.eni.jitter.p99" in proc.stderr and "above p50" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_gamma_from_two_quantiles_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for ratio in (1.1, 2.16, 10.0, 300.0):
        k, theta = jitter.gamma_shape_scale(2e-6, 2e-6 * ratio)
        assert stats.gamma.ppf(0.5, k, scale=theta) == pytest.approx(2e-6, rel=1e-9)
        assert stats.gamma.ppf(0.99, k, scale=theta) == pytest.approx(2e-6 * ratio, rel=1e-9)


# --------------------------------------------------------------------------- the engine
def test_draws_serve_blocks_in_order():
    calls = []

    def fill(n):
        calls.append(n)
        return np.arange(len(calls) * 10, len(calls) * 10 + n, dtype=float)

    d = Draws(fill, block=3)
    assert [d() for _ in range(7)] == [10, 11, 12, 20, 21, 22, 30]
    assert calls == [3, 3, 3] and d.served == 9
    with pytest.raises(ValueError, match="returned 2 values"):
        Draws(lambda n: np.zeros(2), block=3)()


def test_zero_jitter_is_the_constant_device_exactly():
    """A jitter that always draws 0 gives the same departures, bit for bit, as none: the
    jitter adds its draw and nothing else."""
    def run(with_jitter: bool) -> list[float]:
        env = Environment()
        engine = Engine(env)
        j = Draws(lambda n: np.zeros(n), 16) if with_jitter else None
        devs = [Device("a", service=1e-3, latency=3e-4, jitter=j),
                Device("b", latency=7e-4, jitter=j),
                Device("c", bandwidth=1e6, latency=1e-4, jitter=j)]
        flow = FlowStats("f", record=True)
        route = Route(devs, flow)
        Source(env, engine, np.random.default_rng(4), rate_per_s=800, size_bytes=300,
               stop=2.0, pick_route=lambda: route, stats=flow)
        env.run()
        return list(flow.delivery_times)

    assert run(True) == run(False)


def test_jitter_delays_without_holding_the_device():
    """The excess moves the packet's arrival at the next device by exactly its draw and
    leaves the device's busy time and wait alone."""
    env = Environment()
    engine = Engine(env)
    dev = Device("d", service=1e-6, latency=2e-6, jitter=Draws(lambda n: np.full(n, 5e-6), 8))
    flow = FlowStats("f")
    route = Route([dev], flow)
    for _ in range(3):  # three at once: they queue for the CPU, not for the jitter
        engine.send(route, 100)
    env.run()
    assert [round(x * 1e6, 9) for x in flow.latencies] == [8.0, 9.0, 10.0]
    assert dev.cpu_busy == pytest.approx(3e-6) and dev.wait == pytest.approx(3e-6)
    assert dev.jitter_busy == pytest.approx(15e-6)


def test_mg1_mean_wait_matches_pollaczek_khinchine():
    """M/G/1 with a lognormal service time drawn through the engine's Draws: the mean wait
    in queue is W = lambda E[S^2] / (2 (1 - rho)) (Pollaczek-Khinchine), within a
    batch-means 95 % interval (doubled)."""
    spec = jitter.parse({"dist": "lognormal", "p50": "1s", "p99": "3s"})
    sigma = math.log(3) / jitter.Z99
    es, es2 = math.exp(sigma ** 2 / 2), math.exp(2 * sigma ** 2)
    lam = 0.6 / es
    rho = lam * es
    theory = lam * es2 / (2 * (1 - rho))
    rng = np.random.default_rng(20261206)
    g_arr, g_svc = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(2))
    env = Environment()
    warmup, n_batches, per_batch = 200.0, 20, 20_000
    horizon = warmup + n_batches * per_batch / lam
    engine = Engine(env, warmup=warmup)
    dev = Device("server", service_sampler=Draws(lambda n: spec.draw(g_svc, n)))
    flow = FlowStats("mg1")
    route = Route([dev], flow)
    Source(env, engine, g_arr, rate_per_s=lam, stop=horizon, pick_route=lambda: route,
           stats=flow)
    edges = np.linspace(warmup, horizon, n_batches + 1)
    waits, counts = [], []

    def cut(_p, _now):
        waits.append(dev.wait)
        counts.append(dev.packets)

    for t in edges[1:]:
        engine.loop.schedule(float(t), cut)
    env.run()
    w = np.diff([0.0, *waits]) / np.diff([0, *counts])
    mean = float(w.mean())
    half = 2.093 * float(w.std(ddof=1)) / math.sqrt(n_batches)
    assert abs(mean - theory) <= max(2 * half, 0.01 * theory), (mean, theory, half)
    # and what it is not: the deterministic service of the same mean (M/D/1) waits less
    assert mean > lam * es ** 2 / (2 * (1 - rho)) * 1.2


# --------------------------------------------------------------------------- scenarios
def _idle(mode: str, packets: int, same_host: bool = False, seed: int = 1, **over) -> dict:
    """A flow at 1000 packets/s of 64 bytes: nothing queues. Client -> a task on another
    instance, or (``same_host``) a task -> a task on its own instance through its published
    port."""
    ports = {"container_port": 80, "host_port": 80 if mode != "awsvpc" else None}
    svc = {"desired_count": 1, "network_mode": mode, "cpu": 0, "memory": 1}
    if same_host:
        services = [{"name": "a", **svc, "containers": [{"name": "c", "port_mappings": [
                        {"container_port": 8080}]}]},
                    {"name": "b", **svc, "containers": [{"name": "c", "port_mappings": [
                        {"container_port": 80}]}]}]
        flow = {"name": "f", "from": "a", "to": "b"}
    else:
        services = [{"name": "web", **svc, "containers": [{"name": "c",
                                                           "port_mappings": [ports]}]}]
        flow = {"name": "f", "to": "web"}
    sc = make_scenario(
        duration=f"{packets / 1000}s",
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1}]},
        services=services,
        traffic=[{**flow, "rate": "1000/s", "arrival": "constant", "size": 64}], **over)
    return ecsnetsim.simulate(sc, seed=seed, workers=1).variants[0]["flows"][0]


def test_host_to_host_lands_in_the_published_ranges_at_idle():
    """netperf TCP_RR between two c5n instances in one AZ (squaremile): RTT min 37-42,
    mean 56.7-59.1, p99 65-78 us; a flow's one-way figures are half of these."""
    for seed in (1, 2):
        lat = _idle("host", 20_000, seed=seed)["latency_us"]
        assert 37 <= 2 * lat["min"] <= 42, lat
        assert 56.7 <= 2 * lat["mean"] <= 59.1, lat
        assert 65 <= 2 * lat["p99"] <= 78, lat


def test_docker_proxy_hairpin_lands_in_the_published_ranges_at_idle():
    """bridge container -> hostIP:hostPort on its own instance through docker-proxy
    (S-local): RTT p50 41.5-41.8 us (41-47 accepted: the VM's figure scaled), p99 92-96."""
    f = _idle("bridge", 100_000, same_host=True)
    assert "docker_proxy" in f["path"]
    lat = f["latency_us"]
    assert 41 <= 2 * lat["p50"] <= 47, lat
    assert 92 <= 2 * lat["p99"] <= 96, lat


def test_bridge_adds_within_the_published_range_per_end():
    """One bridged end adds +5 (Yang 2017) ... +37 us (Felter 2014) to the round trip."""
    host, bridge = _idle("host", 5000), _idle("bridge", 5000)
    extra = 2 * (bridge["latency_us"]["mean"] - host["latency_us"]["mean"])
    assert 5 <= extra <= 37
    assert bridge["latency_us"]["p99"] > host["latency_us"]["p99"]


def test_jitter_spreads_latency_and_leaves_the_structure_alone():
    """With jitter a flow's percentiles part; placement, hops and packet counts are those
    of constant delays, and with every kind at none p50 = p99 again."""
    on = _idle("bridge", 2000)
    off = _idle("bridge", 2000, calibration=NO_JITTER)
    assert on["latency_us"]["p99"] > on["latency_us"]["p50"] > on["latency_us"]["min"]
    assert off["latency_us"]["p99"] == pytest.approx(off["latency_us"]["p50"], rel=1e-3)
    for key in ("sent", "delivered", "dropped", "unreachable", "hops", "path"):
        assert on[key] == off[key], key


def test_same_seed_same_draws_other_seed_other_draws():
    a, b, c = (_idle("awsvpc", 500, seed=s) for s in (7, 7, 8))
    assert a == b
    assert a["latency_us"]["mean"] != c["latency_us"]["mean"]
    assert (a["sent"], a["delivered"], a["hops"]) == (c["sent"], c["delivered"], c["hops"])


def test_a_kind_override_moves_only_its_own_draws():
    """Each kind draws from a stream of its own: turning the fabric's jitter off leaves
    every other kind's draws, so a path without the fabric is unchanged to the bit."""
    over = {"calibration": {"vpc_fabric": {"jitter": "none"}}}
    same_host = _idle("bridge", 500, same_host=True)
    assert same_host == _idle("bridge", 500, same_host=True, **over)
    assert _idle("bridge", 500) != _idle("bridge", 500, **over)


def test_histogram_counts_every_delivered_packet_within_min_and_max():
    f = _idle("host", 3000)
    hist, lat = f["latency_us"]["hist"], f["latency_us"]
    assert sum(hist["counts"]) == f["delivered"]
    assert len(hist["edges_us"]) == len(hist["counts"]) + 1
    assert hist["counts"][0] and hist["counts"][-1]  # trimmed at both ends
    assert hist["edges_us"][0] <= lat["min"] and lat["max"] < hist["edges_us"][-1]
    assert all(b / a == pytest.approx(10 ** 0.05, rel=1e-5)
               for a, b in zip(hist["edges_us"], hist["edges_us"][1:], strict=False))


# --------------------------------------------------------------------------- two builds
_BOTH_WAYS = r'''
import json, sys
import numpy as np, simpy
import ecsnetsim
from ecsnetsim.net import engine as E
from ecsnetsim.net.traffic import Source

sc = ecsnetsim.load_scenario(sys.argv[1], overrides=[
    "duration=0.2s", "warmup=0.05s", "traffic[0].rate=20000/s"])
out = {"compiled": E.COMPILED,
       "variants": ecsnetsim.simulate(sc, seed=3, workers=1).variants}
# jitter on a CPU device, a link, a pure delay; a Draws and a plain callable as service
rng, rng2 = np.random.default_rng(5), np.random.default_rng(6)
env = E.Environment()
engine = E.Engine(env, warmup=0.1)
j = E.Draws(lambda n: rng.gamma(0.7, 2e-4, n), 64)
a = E.Device("a", service_sampler=E.Draws(lambda n: rng2.lognormal(-7, 1, n), 32),
             latency=1e-4, jitter=j, buffer=5)
b = E.Device("b", bandwidth=1e6, latency=1e-4, jitter=j, buffer=4)
c = E.Device("c", latency=1e-3, jitter=E.sampler(lambda n: rng2.exponential(1e-4, n)))
f = E.FlowStats("f", record=True)
r = E.Route([a, b, c], f)
Source(env, engine, np.random.default_rng(9), rate_per_s=900, size_bytes=120,
       pick_route=lambda: r, stats=f)
env.run(until=3.0)
out["flows"] = engine.flow_table()
out["devices"] = engine.device_table()
out["jitter"] = [a.jitter_busy, b.jitter_busy, c.jitter_busy]
out["records"] = [list(f.latencies), list(f.delivery_times)]
print(json.dumps(out, sort_keys=True))
'''


def _run_both_ways(pure: bool) -> dict:
    from pathlib import Path

    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "compare-modes.yaml"
    env = {**os.environ, "ECSNETSIM_PURE_PYTHON": "1" if pure else "0"}
    proc = subprocess.run([sys.executable, "-c", _BOTH_WAYS, str(scenario)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_compiled_and_pure_engines_draw_the_same_jitter():
    """With jitter on every calibrated path and on engine devices of every stage, the
    compiled and the pure-Python engines agree to the last bit."""
    pure, fast = _run_both_ways(True), _run_both_ways(False)
    assert pure["compiled"] is False
    assert fast["flows"][0]["dropped"] > 0 and all(x > 0 for x in fast["jitter"])
    lat = fast["variants"][0]["flows"][0]["latency_us"]
    assert lat["p99"] > lat["p50"]
    assert {k: v for k, v in fast.items() if k != "compiled"} == \
        {k: v for k, v in pure.items() if k != "compiled"}
    if not fast["compiled"]:
        pytest.skip("the compiled engine is not built here: only pure Python was compared")


def test_tails_scenario_answers_the_readme_question():
    """scenarios/tails.yaml: bridge's p99 at idle is near host's; at 70 % of the vCPUs it
    grows by a third or more while host, at half that load, keeps its idle tail."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scenarios" / "tails.yaml"
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(path), workers=1)
    assert res.document["expectations"]["agrees"] is True

    def at(group: str, rate: int) -> tuple[dict, float]:
        v = res.variant(group=group, value=rate)
        cpu = max(d["utilization"] for d in v["devices"] if d["kind"] == "vcpu_pool"
                  and not d["host"].startswith("client"))
        return v["flows"][0]["latency_us"], cpu

    (b_idle, _), (b_load, b_cpu) = at("bridge", 1000), at("bridge", 233000)
    (h_idle, _), (h_load, h_cpu) = at("host", 1000), at("host", 233000)
    assert 0.65 <= b_cpu <= 0.75 and 0.3 <= h_cpu <= 0.4
    assert b_idle["p99"] > h_idle["p99"] and b_idle["p50"] > h_idle["p50"]
    assert b_load["p99"] > 1.3 * b_idle["p99"] and h_load["p99"] < 1.1 * h_idle["p99"]
    assert b_load["p99"] - b_idle["p99"] > 3 * (b_load["p50"] - b_idle["p50"])


def test_a_partial_jitter_override_keeps_the_defaults_other_fields():
    """``jitter: {p99: ..}`` on a kind with a default jitter widens its tail and keeps its
    distribution and median; on the command line too."""
    from ecsnetsim.calibration import profile

    base = default_profile()["eni"].jitter
    wider = profile({"eni": {"jitter": {"p99": "30us"}}})["eni"].jitter
    assert (wider.dist, wider.p50) == (base.dist, base.p50)
    assert wider.p99 == pytest.approx(30e-6, rel=1e-12)
    gamma = profile({"eni": {"jitter": {"dist": "gamma"}}})["eni"].jitter
    assert (gamma.dist, gamma.p50, gamma.p99) == ("gamma", base.p50, base.p99)
    assert profile({"eni": {"jitter": "none"}})["eni"].jitter is None
    assert jitter.check({"p99": "1us"})  # without a default: p50 is needed
    sc = ecsnetsim.load_scenario(make_scenario(), overrides=[
        "calibration.eni.jitter.p99=30us", "calibration.veth.jitter=none"])
    assert profile(sc.calibration)["eni"].jitter.p99 == wider.p99


def test_replications_merge_histograms_and_give_a_p99_interval():
    """A replicated flow's histogram holds every replication's packets, and its p99 has a
    95 % interval around the replications' mean p99."""
    sc = make_scenario(
        duration="0.5s", replications=3,
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1}]},
        services=[{"name": "web", "desired_count": 1, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 80}]}]}],
        traffic=[{"name": "f", "to": "web", "rate": "2000/s"}])
    f = ecsnetsim.simulate(sc, seed=5, workers=1).variants[0]["flows"][0]
    assert f["replications"] == 3
    assert sum(f["latency_us"]["hist"]["counts"]) == f["delivered"]
    lo, hi = f["ci95"]["latency_p99_us"]
    assert lo < f["latency_us"]["p99"] < hi
