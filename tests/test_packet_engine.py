"""The packet engine against exact oracles and queueing theory.

Exact tests feed pre-drawn arrival and service times to the engine and to an independent
computation (the Lindley/departure recursion, a heap of server free times, SimPy's own
``Resource``) and require the same departure times to 1e-9 s. Statistical tests compare
long runs with M/M/1, Jackson and M/M/1/K results and Little's law, with a tolerance taken
from a batch-means 95% confidence interval (doubled, with a small floor: about a 1 in 2000
chance of a false failure per check) so that a correct engine passes for any seed while a
wrong service law, a wrong queue discipline or lost packets fail.
"""

from __future__ import annotations

import heapq
import importlib.util
import math
import os
import sys
import types

import numpy as np
import pytest
import simpy

from ecsnetsim.net.engine import (
    COMPILED,
    Choice,
    Device,
    Draws,
    Engine,
    Environment,
    FlowStats,
    LatencyHistogram,
    Packet,
    Route,
    Server,
    TargetSet,
    sampler,
)
from ecsnetsim.net.traffic import Source

T975_19 = 2.093  # Student t quantile, 0.975, 19 degrees of freedom (20 batches)
SEED = 20240611


# --------------------------------------------------------------------------- helpers
def batch_ci(x, n_batches: int = 20) -> tuple[float, float]:
    """Grand mean and 95% CI half-width of ``x`` by non-overlapping batch means."""
    x = np.asarray(x, dtype=float)
    b = len(x) // n_batches
    means = x[: b * n_batches].reshape(n_batches, b).mean(axis=1)
    return float(means.mean()), T975_19 * float(means.std(ddof=1)) / math.sqrt(n_batches)


def batch_ci_of(values) -> tuple[float, float]:
    """Mean and 95% CI half-width of already-formed batch values."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), T975_19 * float(v.std(ddof=1)) / math.sqrt(len(v))


def assert_close_ci(estimate: float, halfwidth: float, theory: float, floor: float) -> None:
    tol = max(2.0 * halfwidth, floor)
    assert abs(estimate - theory) <= tol, (
        f"estimate {estimate:.5g} vs theory {theory:.5g}: off by "
        f"{abs(estimate - theory):.3g} > tolerance {tol:.3g} (CI half-width {halfwidth:.3g})")


def feed(env, engine, route_of, times, sizes=None):
    """Send packet i on ``route_of[i]`` at absolute time ``times[i]`` (times sorted)."""
    times = list(times)
    sizes = [100] * len(times) if sizes is None else list(sizes)

    def proc():
        for i, t in enumerate(times):
            if t > env.now:
                yield env.timeout(t - env.now)
            engine.send(route_of[i], sizes[i])

    env.process(proc())


def lindley(arrivals, services):
    """FIFO single server: D[i] = max(A[i], D[i-1]) + S[i] (arrivals in FIFO order)."""
    out = np.empty(len(arrivals))
    d = -math.inf
    for i, (a, s) in enumerate(zip(arrivals, services, strict=True)):
        d = max(a, d) + s
        out[i] = d
    return out


def pool_departures(arrivals, services, k):
    """FCFS pool of k servers: each arrival (in time order) takes the earliest free one."""
    free = [0.0] * k
    out = np.empty(len(arrivals))
    for i, (a, s) in enumerate(zip(arrivals, services, strict=True)):
        f = heapq.heappop(free)
        d = max(a, f) + s
        heapq.heappush(free, d)
        out[i] = d
    return out


def exp_sampler(rng, mean):
    return sampler(lambda n: rng.exponential(mean, n))


def by_send_time(flow: FlowStats) -> tuple[np.ndarray, np.ndarray]:
    """(send times, delivery times) of a recorded flow, sorted by send time."""
    s = np.asarray(flow.send_times)
    d = np.asarray(flow.delivery_times)
    order = np.argsort(s, kind="stable")
    return s[order], d[order]


def snapshots(env, times, read):
    """Record ``read()`` at each of ``times`` (an ordered list); returns the list."""
    out = []

    def proc():
        for t in times:
            yield env.timeout(t - env.now)
            out.append(read())

    env.process(proc())
    return out


def _pure_twin() -> types.SimpleNamespace:
    """The engine and its sources built on the pure-Python core, beside the imported
    ones (a second copy of ``engine`` and ``traffic``, loaded with
    ``ECSNETSIM_PURE_PYTHON=1``), so that one test runs against either core."""
    import ecsnetsim.net.engine as main_engine
    import ecsnetsim.net.traffic as main_traffic

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    old = os.environ.get("ECSNETSIM_PURE_PYTHON")
    os.environ["ECSNETSIM_PURE_PYTHON"] = "1"
    try:
        eng = load("ecsnetsim.net._engine_pure_twin", main_engine.__file__)
        sys.modules["ecsnetsim.net.engine"] = eng  # what the twin of traffic imports
        try:
            traffic = load("ecsnetsim.net._traffic_pure_twin", main_traffic.__file__)
        finally:
            sys.modules["ecsnetsim.net.engine"] = main_engine
    finally:
        if old is None:
            del os.environ["ECSNETSIM_PURE_PYTHON"]
        else:
            os.environ["ECSNETSIM_PURE_PYTHON"] = old
    assert not eng.COMPILED
    return types.SimpleNamespace(**{n: getattr(eng, n) for n in eng.__all__},
                                 Source=traffic.Source)


@pytest.fixture(scope="module", params=["compiled", "pure"])
def E(request):  # noqa: N802 - the engine module's stand-in, read as E.Device, ...
    """The engine's classes on the compiled core (skipped when it is not built) and on
    the pure-Python core: the oracle tests run against both."""
    if request.param == "pure":
        return _pure_twin()
    if not COMPILED:
        pytest.skip("the compiled engine is not built here")
    return types.SimpleNamespace(Environment=Environment, Engine=Engine, Device=Device,
                                 FlowStats=FlowStats, Route=Route, Server=Server,
                                 Source=Source, Choice=Choice, TargetSet=TargetSet,
                                 Draws=Draws)


# --------------------------------------------------------------------------- 1. exact oracles
def test_chain_matches_lindley_recursion(E):
    """K devices in a chain (one with its own link stage) against the departure recursion."""
    rng = np.random.default_rng(SEED)
    n, lam = 4000, 0.8
    means = [0.5, 1.0, 0.3, 0.9]
    latencies = [0.1, 0.0, 0.25, 0.05]
    bandwidth = 400.0  # bytes/s on device 2's own link
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    services = [rng.exponential(m, n) for m in means]
    sizes = rng.integers(40, 200, n)

    env = E.Environment()
    engine = E.Engine(env)
    flow = E.FlowStats("chain", record=True)
    devices = [
        E.Device(f"d{k}", latency=latencies[k], service_sampler=iter(services[k].tolist()).__next__,
               bandwidth=bandwidth if k == 2 else None)
        for k in range(len(means))
    ]
    route = E.Route(devices, flow)
    feed(env, engine, [route] * n, arrivals, sizes.tolist())
    env.run()

    a = arrivals
    for k in range(len(means)):
        d = lindley(a, services[k])
        if k == 2:
            d = lindley(d, sizes / bandwidth)
        a = d + latencies[k]
    sent, delivered = by_send_time(flow)
    assert flow.delivered == n and flow.hops_min == flow.hops_max == len(devices)
    np.testing.assert_allclose(sent, arrivals, rtol=0, atol=1e-9)
    assert np.max(np.abs(delivered - a)) < 1e-9


def test_shared_pool_matches_heap_oracle_and_simpy_resource(E):
    """Two devices on one 3-server pool, fed by two routes, against two independent oracles."""
    rng = np.random.default_rng(SEED + 1)
    n, k = 3000, 3
    arr = [np.cumsum(rng.exponential(1 / 1.1, n)), np.cumsum(rng.exponential(1 / 0.9, n))]
    serv = [rng.exponential(1.6, n), rng.exponential(1.2, n)]

    env = E.Environment()
    engine = E.Engine(env)
    pool = E.Server("host/cpu", servers=k)
    flows = [E.FlowStats(f"f{j}", record=True) for j in range(2)]
    routes = [E.Route([E.Device(f"d{j}", cpu=pool,
                                service_sampler=iter(serv[j].tolist()).__next__)],
                      flows[j]) for j in range(2)]
    times = np.concatenate(arr)
    which = np.repeat([0, 1], n)
    order = np.argsort(times, kind="stable")
    feed(env, engine, [routes[j] for j in which[order]], times[order])
    env.run()

    # heap-of-free-times oracle over the merged arrival stream
    svc = np.concatenate(serv)[order]
    expected = np.empty(2 * n)
    expected[order] = pool_departures(times[order], svc, k)

    # packets overtake each other on the k servers, so this is not a single-server chain
    assert np.any(np.diff(expected[order]) < 0)

    # SimPy Resource oracle: one process per packet, FIFO request queue
    env2 = simpy.Environment()
    res = simpy.Resource(env2, capacity=k)
    simpy_dep = np.empty(2 * n)
    svc_by_id = np.concatenate(serv)

    def packet(i):
        with res.request() as req:
            yield req
            yield env2.timeout(float(svc_by_id[i]))
        simpy_dep[i] = env2.now

    def source():
        for i in order:
            yield env2.timeout(times[i] - env2.now)
            env2.process(packet(i))

    env2.process(source())
    env2.run()
    np.testing.assert_allclose(simpy_dep, expected, rtol=0, atol=1e-9)

    for j in range(2):
        s, d = by_send_time(flows[j])
        np.testing.assert_allclose(s, arr[j], rtol=0, atol=1e-9)
        assert np.max(np.abs(d - expected[j * n:(j + 1) * n])) < 1e-9
    # pool accounting: busy time is the sum of the services of both devices
    assert pool.busy == pytest.approx(svc.sum(), rel=1e-12)


def test_shared_link_serves_in_order_of_arrival_at_the_link(E):
    """Two devices with their own CPUs share one link: FIFO by time of reaching the link."""
    rng = np.random.default_rng(SEED + 2)
    n, bw = 3000, 1000.0
    arr = [np.cumsum(rng.exponential(1.0, n)), np.cumsum(rng.exponential(1.25, n))]
    serv = [rng.exponential(0.7, n), rng.exponential(0.5, n)]
    sizes = [rng.integers(100, 600, n), rng.integers(100, 600, n)]
    lat = [0.2, 0.05]

    env = E.Environment()
    engine = E.Engine(env)
    card = E.Server("i-1/card", servers=1, bandwidth=bw)
    flows = [E.FlowStats(f"f{j}", record=True) for j in range(2)]
    devs = [E.Device(f"eni{j}", latency=lat[j], link=card,
                   service_sampler=iter(serv[j].tolist()).__next__) for j in range(2)]
    routes = [E.Route([devs[j]], flows[j]) for j in range(2)]
    times = np.concatenate(arr)
    which = np.repeat([0, 1], n)
    sz = np.concatenate(sizes)
    order = np.argsort(times, kind="stable")
    feed(env, engine, [routes[j] for j in which[order]], times[order], sz[order].tolist())
    env.run()

    cpu_done = np.concatenate([lindley(arr[j], serv[j]) for j in range(2)])
    at_link = np.argsort(cpu_done, kind="stable")
    link_done = np.empty(2 * n)
    link_done[at_link] = lindley(cpu_done[at_link], sz[at_link] / bw)
    expected = link_done + np.repeat(lat, n)
    # the link order really differs from the order of arrival at the devices
    assert not np.array_equal(at_link, order)
    for j in range(2):
        s, d = by_send_time(flows[j])
        np.testing.assert_allclose(s, arr[j], rtol=0, atol=1e-9)
        assert np.max(np.abs(d - expected[j * n:(j + 1) * n])) < 1e-9
    assert devs[0].link_busy + devs[1].link_busy == pytest.approx(sz.sum() / bw, rel=1e-12)


def test_route_that_revisits_a_pool_matches_simpy_resource(E):
    """A route crossing two devices of the same 2-server pool (with a delay in between)."""
    rng = np.random.default_rng(SEED + 3)
    n, k = 3000, 2
    send = np.cumsum(rng.exponential(1.0, n))
    s1, s2 = rng.exponential(0.6, n), rng.exponential(0.8, n)
    env = E.Environment()
    engine = E.Engine(env)
    pool = E.Server("cpu", servers=k)
    flow = E.FlowStats("f", record=True)
    route = E.Route([
        E.Device("a", cpu=pool, latency=0.3, service_sampler=iter(s1.tolist()).__next__),
        E.Device("wire", latency=0.5),
        E.Device("b", cpu=pool, latency=0.1, service_sampler=iter(s2.tolist()).__next__)],
        flow)
    feed(env, engine, [route] * n, send)
    env.run()

    # oracle: SimPy, one process per packet; services drawn in order of arrival per device
    env2 = simpy.Environment()
    res = simpy.Resource(env2, capacity=k)
    it1, it2 = iter(s1.tolist()), iter(s2.tolist())
    dep = np.empty(n)

    def packet(i):
        req = res.request()
        s = next(it1)  # drawn at arrival, like the engine
        yield req
        yield env2.timeout(s)
        res.release(req)
        yield env2.timeout(0.3 + 0.5)
        req = res.request()
        s = next(it2)
        yield req
        yield env2.timeout(s)
        res.release(req)
        yield env2.timeout(0.1)
        dep[i] = env2.now

    def source():
        for i, t in enumerate(send):
            yield env2.timeout(t - env2.now)
            env2.process(packet(i))

    env2.process(source())
    env2.run()
    s, d = by_send_time(flow)
    assert np.max(np.abs(d - dep)) < 1e-9


# --------------------------------------------------------------------------- 2-4. theory
def test_mm1_sojourn_and_utilization(E):
    lam, mu = 0.6, 1.0
    rho = lam / mu
    warmup, n_batches = 500.0, 20
    horizon = warmup + 600_000 / lam
    rng = np.random.default_rng(SEED + 10)
    g_arr, g_svc = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(2))
    env = E.Environment()
    engine = E.Engine(env, warmup=warmup)
    flow = E.FlowStats("mm1")
    dev = E.Device("server", service_sampler=exp_sampler(g_svc, 1 / mu))
    route = E.Route([dev], flow)
    E.Source(env, engine, g_arr, rate_per_s=lam, stop=horizon, pick_route=lambda: route,
           stats=flow)
    edges = list(np.linspace(warmup, horizon, n_batches + 1))
    busy = snapshots(env, edges, lambda: dev.cpu_busy)
    env.run()

    mean, hw = batch_ci(flow.latencies, n_batches)
    assert_close_ci(mean, hw, 1 / (mu - lam), floor=0.005 / (mu - lam))
    u_b = np.diff(busy) / np.diff(edges)
    u_mean, u_hw = batch_ci_of(u_b)
    assert_close_ci(u_mean, u_hw, rho, floor=0.003)
    assert dev.utilization(engine.window(horizon)) == pytest.approx(u_mean, abs=0.01)
    assert flow.summary(engine.window())["throughput_pps"] == pytest.approx(lam, rel=0.02)


def test_jackson_tandem_line(E):
    """K M/M/1 stations in tandem, service redrawn at every station: mean = K/(mu-lam)."""
    lam, mu, k = 0.6, 1.0, 4
    warmup = 500.0
    horizon = warmup + 500_000 / lam
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(SEED + 11).spawn(k + 1)]
    env = E.Environment()
    engine = E.Engine(env, warmup=warmup)
    flow = E.FlowStats("tandem")
    route = E.Route([E.Device(f"s{j}", service_sampler=exp_sampler(streams[j + 1], 1 / mu))
                   for j in range(k)], flow)
    E.Source(env, engine, streams[0], rate_per_s=lam, stop=horizon, pick_route=lambda: route,
           stats=flow)
    env.run()
    mean, hw = batch_ci(flow.latencies)
    theory = k / (mu - lam)
    assert_close_ci(mean, hw, theory, floor=0.005 * theory)
    assert flow.hops_min == flow.hops_max == k
    for d in route.devices:
        assert d.utilization(engine.window()) == pytest.approx(lam / mu, abs=0.02)


def test_littles_law(E):
    """Time-average number in system (integrated) = throughput x mean sojourn, per batch."""
    lam = 0.9
    horizon, n_batches = 60_000.0, 20
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(SEED + 12).spawn(3)]
    env = E.Environment()
    engine = E.Engine(env)
    flow = E.FlowStats("little", record=True)
    pool = E.Server("cpu", servers=2)
    route = E.Route([
        E.Device("a", cpu=pool, service_sampler=exp_sampler(streams[1], 1.5)),
        E.Device("wire", latency=0.5),
        E.Device("b", service_sampler=exp_sampler(streams[2], 0.7), latency=0.2),
    ], flow)
    E.Source(env, engine, streams[0], rate_per_s=lam, stop=horizon, pick_route=lambda: route,
           stats=flow)
    edges = np.linspace(1000.0, horizon - 1000.0, n_batches + 1)
    grid = np.arange(edges[0], edges[-1], 0.5)
    sampled = snapshots(env, list(grid), lambda: flow.in_flight)
    env.run()
    assert flow.delivered == flow.sent

    send = np.asarray(flow.send_times)
    deliv = np.asarray(flow.delivery_times)
    lat = np.asarray(flow.latencies)
    d_little, d_sampled = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        # integral of N(t) over [a, b]: every packet's time in system clipped to the window
        area = np.clip(np.minimum(deliv, b) - np.maximum(send, a), 0, None).sum()
        big_l = area / (b - a)
        inside = (send >= a) & (send < b)
        lam_eff = inside.sum() / (b - a)
        d_little.append(big_l - lam_eff * lat[inside].mean())
        in_grid = (grid >= a) & (grid < b)
        d_sampled.append(big_l - np.mean(np.asarray(sampled)[in_grid]))
    mean_l = np.clip(np.minimum(deliv, edges[-1]) - np.maximum(send, edges[0]), 0, None).sum()
    mean_l /= edges[-1] - edges[0]
    m, hw = batch_ci_of(d_little)
    assert_close_ci(m, hw, 0.0, floor=0.001 * mean_l)
    m, hw = batch_ci_of(d_sampled)
    assert_close_ci(m, hw, 0.0, floor=0.001 * mean_l)


# --------------------------------------------------------------------------- 5. finite buffers
def test_mm1k_blocking_probability(E):
    lam, mu, cap = 0.8, 1.0, 4
    rho = lam / mu
    warmup, n_batches = 200.0, 20
    horizon = warmup + 500_000 / lam
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(SEED + 13).spawn(2)]
    env = E.Environment()
    engine = E.Engine(env, warmup=warmup)
    flow = E.FlowStats("mm1k")
    dev = E.Device("q", buffer=cap, service_sampler=exp_sampler(streams[1], 1 / mu))
    route = E.Route([dev], flow)
    E.Source(env, engine, streams[0], rate_per_s=lam, stop=horizon, pick_route=lambda: route,
           stats=flow)
    edges = list(np.linspace(warmup, horizon, n_batches + 1))
    counts = snapshots(env, edges, lambda: (flow.sent, flow.dropped))
    env.run()
    theory = (1 - rho) * rho**cap / (1 - rho ** (cap + 1))
    c = np.asarray(counts, dtype=float)
    p_b = np.diff(c[:, 1]) / np.diff(c[:, 0])
    m, hw = batch_ci_of(p_b)
    assert_close_ci(m, hw, theory, floor=0.003)
    assert dev.drops == flow.dropped > 0
    assert flow.sent == flow.delivered + flow.dropped + flow.in_flight
    # an M/M/1/K server is busy whenever it is not empty: utilization = rho (1 - P_block)
    assert dev.utilization(engine.window(horizon)) == pytest.approx(rho * (1 - theory), abs=0.01)


@pytest.mark.parametrize("stages", ["cpu", "cpu-pool", "link", "cpu+link"])
def test_finite_buffer_matches_exact_oracle(E, stages):
    """Which packets a full buffer drops, and when the others leave, exactly.

    Oracle: packets are taken in arrival order; an arrival is dropped when the accepted
    packets that leave the device after it arrives already fill the buffer; an accepted one
    is served FIFO by the CPU stage (k servers) and then the link stage.
    """
    rng = np.random.default_rng(SEED + 15)
    n, cap, bw, lat = 4000, 3, 500.0, 0.05
    arrivals = np.cumsum(rng.exponential(0.5, n))
    services = rng.exponential(0.4, n)
    sizes = rng.integers(50, 250, n)
    k = 2 if stages == "cpu-pool" else 1
    has_cpu, has_link = stages != "link", stages in ("link", "cpu+link")
    env = E.Environment()
    engine = E.Engine(env)
    flow = E.FlowStats("f", record=True)
    dev = E.Device("d", buffer=cap, latency=lat, bandwidth=bw if has_link else None,
                 cpu=E.Server("cpu", servers=k) if has_cpu else None,
                 service_sampler=iter(services.tolist()).__next__ if has_cpu else None)
    route = E.Route([dev], flow)
    feed(env, engine, [route] * n, arrivals, sizes.tolist())
    env.run()

    cpu_free, link_free = [0.0] * k, 0.0
    svc = iter(services.tolist())
    leave, accepted_arrivals, expected = [], [], []
    for a, size in zip(arrivals, sizes, strict=True):
        if sum(1 for t in leave if t > a) >= cap:
            continue
        t = a
        if has_cpu:
            f = heapq.heappop(cpu_free)
            t = max(a, f) + next(svc)
            heapq.heappush(cpu_free, t)
        if has_link:
            t = link_free = max(t, link_free) + size / bw
        leave.append(t)
        accepted_arrivals.append(a)
        expected.append(t + lat)
    s, d = by_send_time(flow)
    assert flow.dropped == dev.drops == n - len(expected) > 50
    np.testing.assert_allclose(s, accepted_arrivals, rtol=0, atol=1e-9)
    assert np.max(np.abs(d - np.asarray(expected))) < 1e-9


def _packets_in_queue(env) -> int:
    """Measured packets with a pending event on the environment's packet loop."""
    return sum(1 for *_, p in env.packet_loop.heap if isinstance(p, Packet) and p.measured)


def test_conservation_at_any_stop_time():
    """sent = delivered + dropped + unreachable + in_flight, with in_flight counted directly."""
    rng = np.random.default_rng(SEED + 14)
    env = Environment()
    engine = Engine(env, warmup=3.0)
    flow = FlowStats("f")
    cpu = Server("cpu", servers=2)
    card = Server("card", bandwidth=2e4)
    g_svc, g_route = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(2))
    routes = [
        Route([Device("stack", cpu=cpu, service=0.02, latency=0.01, buffer=3),
               Device("eni", cpu=cpu, link=card, service=0.01, latency=0.05, buffer=2),
               Device("fabric", latency=0.2),
               Device("veth", service_sampler=exp_sampler(g_svc, 0.03), buffer=4)], flow),
        Route([Device("eni2", link=card, buffer=2)], flow),
    ]

    def pick():
        u = g_route.random()
        return None if u < 0.1 else routes[0] if u < 0.7 else routes[1]

    Source(env, engine, rng, rate_per_s=60.0, size_bytes=500, stop=40.0, pick_route=pick,
           stats=flow)
    checked = 0
    for t in np.sort(rng.uniform(0.5, 45.0, 60)):
        env.run(until=float(t))
        in_queue = _packets_in_queue(env)
        assert flow.in_flight == in_queue
        assert flow.sent == flow.delivered + flow.dropped + flow.unreachable + in_queue
        checked += in_queue > 0
    env.run()
    assert flow.in_flight == 0 and _packets_in_queue(env) == 0
    assert checked > 10 and flow.dropped > 0 and flow.unreachable > 0 and flow.delivered > 0
    assert flow.dropped == sum(d.drops for r in routes for d in r.devices)


# --------------------------------------------------------------------------- 6. latency
def _bridge_like(skip: int | None = None) -> list[Device]:
    """A fresh bridge-mode-like path (devices belong to one engine), without device ``skip``."""
    cpu = Server("host/cpu", servers=2)
    card = Server("host/card", bandwidth=1.25e8)
    devices = [
        Device("client", kind="host_stack", service=2.5e-6, latency=1.5e-6),
        Device("vpc", kind="vpc_fabric", latency=12e-6),
        Device("eni", kind="eni", cpu=cpu, link=card, service=0.5e-6, latency=5e-6),
        Device("nat", kind="iptables_nat", cpu=cpu, service=0.7e-6),
        Device("br", kind="docker0", cpu=cpu, service=1.5e-6, buffer=10),
        Device("veth", kind="veth", cpu=cpu, service=0.3e-6),
        Device("nic2", kind="eni", bandwidth=1e8, latency=1e-6),
        Device("task", kind="task_stack", cpu=cpu, service=2.5e-6, latency=1.5e-6),
    ]
    return [d for j, d in enumerate(devices) if j != skip]


def _one_packet(devices, size):
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("one")
    engine.send(Route(devices, flow), size)
    env.run()
    assert flow.delivered == 1
    return flow.hops_max, flow.latencies[0], env


def _cost(d: Device, size: int) -> float:
    c = d.latency + (d.service if d.cpu is not None else 0.0)
    return c + (size / d.bandwidth if d.bandwidth else 0.0)


@pytest.mark.parametrize("size", [64, 1500, 9001])
def test_single_packet_latency_is_the_sum_of_device_costs(size):
    devices = _bridge_like()
    hops, latency, _ = _one_packet(devices, size)
    assert hops == len(devices)
    assert latency == pytest.approx(sum(_cost(d, size) for d in devices), rel=1e-12)
    # by hand for the link of the eni: 0.5 us CPU, then size / 1.25e8 s on the card
    assert _cost(devices[2], size) == pytest.approx(0.5e-6 + size / 1.25e8 + 5e-6)
    for j, d in enumerate(devices):
        h, lat, _ = _one_packet(_bridge_like(skip=j), size)
        assert h == hops - 1
        assert latency - lat == pytest.approx(_cost(d, size), rel=1e-9, abs=1e-15)


def test_device_counters_of_a_single_packet():
    devices = _bridge_like()
    _, latency, env = _one_packet(devices, 1000)
    for d in devices:
        assert d.packets == 1 and d.drops == 0 and d.wait == 0.0
        assert d.busy == pytest.approx(_cost(d, 1000) - d.latency)
    assert env.now == pytest.approx(latency)


def test_back_to_back_packets_queue_on_a_shared_link():
    """Two packets sent at once on two ENIs of one card: the second waits for the first."""
    card = Server("card", bandwidth=1000.0)
    a = Device("eni-a", link=card, latency=0.5)
    b = Device("eni-b", link=card, latency=0.25)
    env = Environment()
    engine = Engine(env)
    fa, fb = FlowStats("a"), FlowStats("b")
    engine.send(Route([a], fa), 200)
    engine.send(Route([b], fb), 300)
    env.run()
    assert fa.latencies[0] == pytest.approx(0.2 + 0.5)
    assert fb.latencies[0] == pytest.approx(0.2 + 0.3 + 0.25)
    assert b.wait == pytest.approx(0.2) and a.wait == 0.0
    assert card.utilization(1.0) == pytest.approx(0.5)


# --------------------------------------------------------------------------- 7. determinism
def _seeded_run(seed: int) -> tuple[dict, list[float], list[dict]]:
    ss = np.random.SeedSequence(seed)
    g_src, g_svc, g_pick = (np.random.default_rng(s) for s in ss.spawn(3))
    env = Environment()
    engine = Engine(env, warmup=0.5)
    flow = FlowStats("det")
    cpu = Server("cpu", servers=2)
    r1 = Route([Device("a", cpu=cpu, service_sampler=exp_sampler(g_svc, 0.01), buffer=5),
                Device("b", cpu=cpu, service=0.004, bandwidth=1e5)], flow)
    r2 = Route([Device("c", cpu=cpu, service=0.008, buffer=3)], flow)

    def pick():
        u = g_pick.random()
        return None if u < 0.05 else r1 if u < 0.6 else r2

    Source(env, engine, g_src, rate_per_s=150.0, size_bytes=300, stop=20.0, pick_route=pick,
           stats=flow)
    env.run()
    return flow.summary(engine.window()), list(flow.latencies), engine.device_table()


def test_same_seed_same_statistics_different_seed_different():
    a, b, c = _seeded_run(7), _seeded_run(7), _seeded_run(8)
    assert a == b
    assert a[0] != c[0] and a[1] != c[1]
    assert a[0]["dropped"] > 0 and a[0]["unreachable"] > 0


# --------------------------------------------------------------------------- 8. warmup
@pytest.mark.parametrize("warmup", [0.0, 4.0, 4.05])
def test_warmup_excludes_packets_sent_before_it(warmup):
    rate, stop = 10.0, 10.0  # constant: packets at 0.0, 0.1, ..., 9.9
    env = Environment()
    engine = Engine(env, warmup=warmup)
    flow = FlowStats("w")
    dev = Device("d", service=0.15)  # 1.5x the gap: a queue builds across the warmup
    route = Route([dev], flow)
    src = Source(env, engine, np.random.default_rng(0), rate_per_s=rate, arrival="constant",
                 size_bytes=100, stop=stop, pick_route=lambda: route, stats=flow)
    env.run()
    expected = sum(1 for i in range(100) if i / rate >= warmup)
    assert src.emitted == 100
    assert flow.sent == flow.delivered == len(flow.latencies) == dev.packets == expected
    assert dev.cpu_busy == pytest.approx(0.15 * expected)
    # packet i leaves at 0.15 (i + 1), so its latency is 0.05 i + 0.15
    first = 100 - expected
    assert flow.latencies[0] == pytest.approx(0.05 * first + 0.15)
    assert engine.window() == pytest.approx(env.now - warmup)


# --------------------------------------------------------------------------- API details
def test_source_counts_rate_and_unreachable():
    rng = np.random.default_rng(SEED + 20)
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("s")
    route = Route([Device("d", latency=0.001)], flow)
    flip = iter([None, route] * 10_000)
    src = Source(env, engine, rng, rate_per_s=500.0, start=2.0, stop=22.0,
                 pick_route=lambda: next(flip), stats=flow)
    env.run()
    expected, sd = 500.0 * 20.0, math.sqrt(500.0 * 20.0)
    assert abs(src.emitted - expected) < 4 * sd
    assert flow.sent == src.emitted
    assert flow.unreachable == (src.emitted + 1) // 2 and flow.delivered == src.emitted // 2
    assert min(flow.latencies) == pytest.approx(0.001)

    env = Environment()
    src = Source(env, Engine(env), rng, rate_per_s=1e6, pick_route=lambda: None, max_packets=37)
    env.run()
    assert src.emitted == src.stats.sent == src.stats.unreachable == 37


def test_constant_source_starts_at_start():
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("c", record=True)
    route = Route([Device("d")], flow)
    Source(env, engine, np.random.default_rng(0), rate_per_s=4.0, arrival="constant",
           start=1.0, stop=2.0, pick_route=lambda: route, stats=flow)
    env.run()
    assert list(flow.send_times) == [1.0, 1.25, 1.5, 1.75]


def test_flow_summary_and_device_table():
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("f")
    dev = Device("d", kind="veth", host="i-1", latency=1e-6)
    route = Route([dev], flow)
    for t in range(100):
        env.run(until=t + 1)
        dev.latency = (t + 1) * 1e-6  # latency i us for the i-th packet
        engine.send(route, 10)
    env.run()
    s = flow.summary(100.0)
    lat_us = np.arange(1, 101, dtype=float)
    assert s["delivered"] == s["sent"] == 100 and s["in_flight"] == 0
    assert s["hops"] == {"mean": 1.0, "min": 1, "max": 1}
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99)):  # from the histogram: its bound
        exact = np.percentile(lat_us, q)
        assert s["latency_us"][key] == pytest.approx(exact, rel=LatencyHistogram.REL_ERROR)
    assert s["latency_us"]["mean"] == pytest.approx(50.5)
    assert s["latency_us"]["max"] == pytest.approx(100.0)
    assert s["throughput_pps"] == pytest.approx(1.0)
    (row,) = engine.device_table()
    assert row == {"id": "d", "kind": "veth", "host": "i-1", "packets": 100,
                   "utilization": 0.0, "mean_wait_us": 0.0, "drops": 0}
    assert FlowStats("empty").summary(1.0)["latency_us"]["p99"] is None


def test_invalid_parameters_and_engine_ownership():
    with pytest.raises(ValueError):
        Server("x", servers=0)
    with pytest.raises(ValueError):
        Device("x", service=-1.0)
    with pytest.raises(ValueError):
        Device("x", buffer=0)
    with pytest.raises(ValueError):
        Device("x", link=Server("card"))  # a link needs a bandwidth
    env = Environment()
    with pytest.raises(ValueError):
        Source(env, Engine(env), np.random.default_rng(0), rate_per_s=1.0, arrival="burst",
               pick_route=lambda: None)
    route = Route([Device("d", service=1.0)], FlowStats("f"))
    Engine(env).send(route, 1)
    env2 = Environment()
    with pytest.raises(ValueError, match="another engine"):
        Engine(env2).send(route, 1)
    with pytest.raises(TypeError, match="Environment"):  # a plain simpy clock has no loop
        Engine(simpy.Environment())


# --------------------------------------------------------------------------- 9. conservation
def _conservation_run(breaker=None):
    """A small busy network stopped while packets are in flight; returns the flow.

    ``breaker`` wraps the entry handler of the last device, to break the engine."""
    rng = np.random.default_rng(SEED + 30)
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("f")
    cpu = Server("cpu", servers=2)
    route = Route([Device("a", cpu=cpu, service=0.02, latency=0.01, buffer=3),
                   Device("wire", latency=0.2),
                   Device("b", service_sampler=exp_sampler(rng, 0.03), buffer=4)], flow)
    engine.attach(route)
    if breaker is not None:
        route._path = route._path[:2] + (breaker(route._path[2]),) + route._path[3:]
    Source(env, engine, rng, rate_per_s=60.0, stop=30.0, pick_route=lambda: route, stats=flow)
    env.run(until=20.0)
    return flow


def _conserved(flow: FlowStats) -> bool:
    return flow.sent == flow.delivered + flow.dropped + flow.unreachable + flow.in_flight


def _lose_every_tenth(entry):
    """A handler that forgets some packets (neither forwarded nor counted)."""
    k = iter(range(10**9))

    def lossy(p, now):
        if next(k) % 10 != 9:
            entry(p, now)
    return lossy


def _double_every_tenth(entry):
    """A handler that sends some packets on twice."""
    k = iter(range(10**9))

    def doubling(p, now):
        entry(p, now)
        if next(k) % 10 == 9:
            p.hop -= 1
            entry(p, now)
    return doubling


def test_in_flight_is_counted_so_a_lost_or_doubled_packet_breaks_conservation():
    flow = _conservation_run()
    assert flow.in_flight > 0 and flow.dropped > 0 and _conserved(flow)
    assert not _conserved(_conservation_run(_lose_every_tenth))
    assert not _conserved(_conservation_run(_double_every_tenth))


def test_in_flight_matches_packets_still_on_their_way_at_the_end():
    """At the end every in-flight packet is one sent within the path's longest sojourn."""
    flow = FlowStats("f", record=True)
    env = Environment()
    engine = Engine(env)
    route = Route([Device("d", latency=1.0)], flow)
    Source(env, engine, np.random.default_rng(0), rate_per_s=10.0, arrival="constant",
           pick_route=lambda: route, stats=flow)
    env.run(until=5.05)  # packets sent at 4.1, ..., 5.0 are on the wire
    assert flow.in_flight == 10 and flow.sent == 51 and flow.delivered == 41


# --------------------------------------------------------------------------- 10. two clocks
def _interleaved(engine_source: bool) -> list[tuple[float, str]]:
    """Packets sent at 0, 0.25, ..., 1.75 while a control process changes the target at
    times that tie with sends; returns (send time, target seen)."""
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("f")
    target = {"name": "a"}
    seen = []
    routes = {n: Route([Device(n, latency=0.01)], flow) for n in "abcd"}

    def pick():
        seen.append((env.now, target["name"]))
        return routes[target["name"]]

    def control():
        yield env.timeout(1.0)  # scheduled at 0, before the send at 1.0 (at 0.75)
        target["name"] = "b"
        yield env.timeout(0.5)  # scheduled at 1.0, before the send at 1.5 (at 1.25)
        target["name"] = "c"
        yield env.timeout(0.125)
        yield env.timeout(0.125)  # scheduled at 1.625, after the send at 1.75 (at 1.5)
        target["name"] = "d"

    env.process(control())
    if engine_source:
        Source(env, engine, np.random.default_rng(0), rate_per_s=4.0, arrival="constant",
               stop=2.0, pick_route=pick, stats=flow)
    else:
        def source():  # the reference: a plain simpy process
            for i in range(8):
                if i:
                    yield env.timeout(0.25)
                engine.send(pick(), 100)
        env.process(source())
    env.run()
    assert flow.delivered == 8
    return seen


def test_packets_and_control_events_interleave_as_on_one_simpy_queue():
    """Ties between the two clocks go by simpy's (time, priority, scheduling order)."""
    got = _interleaved(True)
    assert got == [(0.0, "a"), (0.25, "a"), (0.5, "a"), (0.75, "a"), (1.0, "b"),
                   (1.25, "b"), (1.5, "c"), (1.75, "c")]
    assert got == _interleaved(False)


def test_pick_route_that_schedules_a_control_event_runs_it_in_its_turn():
    """Control events scheduled from inside the packet loop run before later packets."""
    env = Environment()
    engine = Engine(env)
    flow = FlowStats("f", record=True)
    route = Route([Device("d", service=0.1)], flow)
    log = []

    def pick():
        ev = env.timeout(0.0)  # due now: runs before the next packet event
        ev.callbacks.append(lambda _e, t=env.now: log.append(("control", t, env.now)))
        log.append(("send", env.now))
        return route

    Source(env, engine, np.random.default_rng(0), rate_per_s=5.0, arrival="constant",
           stop=1.0, pick_route=pick, stats=flow)
    env.run()
    assert log == [x for i in range(5) for x in (("send", i / 5), ("control", i / 5, i / 5))]
    assert flow.delivered == 5 and env.now == pytest.approx(0.9)


# --------------------------------------------------------------------------- 11. two builds
_BOTH_WAYS = r'''
import json, sys
import numpy as np, simpy
import ecsnetsim
from ecsnetsim.net import engine as E
from ecsnetsim.net.traffic import Source

sc = ecsnetsim.load_scenario(sys.argv[1], overrides=[
    "sweep={}", "compare={}", "duration=30ms", "warmup=5ms", "traffic[0].rate=400000/s"])
out = {"compiled": E.COMPILED,
       "variants": ecsnetsim.simulate(sc, seed=3, workers=1).variants}

# every kind of stage: shared pool, finite buffers, sampled service, CPU then a shared
# link, a link only, a pure delay; a recorded flow and one that keeps no latencies
rng = np.random.default_rng(5)
env = E.Environment()
engine = E.Engine(env, warmup=0.5)
cpu, card = E.Server("cpu", servers=2), E.Server("card", bandwidth=2e6)
a = E.Device("a", cpu=cpu, service=1e-3, latency=1e-4, buffer=4)
b = E.Device("b", cpu=cpu, service_sampler=E.sampler(lambda n: rng.exponential(2e-3, n)),
             link=card, buffer=6)
c = E.Device("c", link=card, latency=2e-4, buffer=3)
d = E.Device("d", latency=1e-3)
f1, f2 = E.FlowStats("f1", record=True), E.FlowStats("f2", keep_latencies=False)
r1, r2 = E.Route([a, b, d], f1), E.Route([c, d, a], f2)
Source(env, engine, rng, rate_per_s=700.0, size_bytes=1500, pick_route=lambda: r1,
       stats=f1)
Source(env, engine, rng, rate_per_s=500.0, arrival="constant", size_bytes=700,
       pick_route=lambda: r2 if rng.random() < 0.9 else None, stats=f2)
env.run(until=3.0)
out["flows"] = engine.flow_table()
out["devices"] = engine.device_table()
out["records"] = [list(f1.latencies), list(f1.send_times), list(f1.delivery_times),
                  f2.histogram.percentiles([1, 50, 99.9])]
print(json.dumps(out, sort_keys=True))
'''


def _run_both_ways(pure: bool) -> dict:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "bridge-contention.yaml"
    env = {**os.environ, "ECSNETSIM_PURE_PYTHON": "1" if pure else "0"}
    proc = subprocess.run([sys.executable, "-c", _BOTH_WAYS, str(scenario)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_compiled_and_pure_python_engines_give_identical_results():
    """The compiled hot path (``_cengine``) and the pure-Python one (forced by
    ``ECSNETSIM_PURE_PYTHON=1``) agree to the last bit on a loaded scenario and on an
    engine model with every kind of stage (floats compared through their exact repr)."""
    pure, fast = _run_both_ways(True), _run_both_ways(False)
    assert pure["compiled"] is False
    assert fast["variants"][0]["flows"][0]["in_flight"] > 100  # the host's vCPUs queue
    assert all(f["dropped"] > 0 for f in fast["flows"]) and fast["flows"][1]["unreachable"]
    assert {k: v for k, v in fast.items() if k != "compiled"} == \
        {k: v for k, v in pure.items() if k != "compiled"}
    if not fast["compiled"]:
        pytest.skip("the compiled engine is not built here: only pure Python was compared")


def test_a_run_stopped_with_packets_in_flight_is_freed():
    """Packets still on the loop when a run stops are garbage like the rest of the model
    (the compiled loop keeps them where the collector sees them)."""
    import gc

    def stopped_run():
        env = Environment()
        engine = Engine(env)
        route = Route([Device("wire", latency=1.0)], FlowStats("f"))
        for _ in range(50):
            engine.send(route, 10)
        env.run(until=0.5)
        return len(list(engine.loop.packets()))

    assert stopped_run() == 50
    gc.collect()
    before = sum(isinstance(o, Packet) for o in gc.get_objects())
    for _ in range(4):
        stopped_run()
    gc.collect()
    assert sum(isinstance(o, Packet) for o in gc.get_objects()) == before


# --------------------------------------------------------------------------- 12. choice in the loop
class _Service:
    """A service as the packets see it: ``targets`` and a tally whose ``version`` moves
    when they change."""

    def __init__(self, tasks):
        self.tally = types.SimpleNamespace(version=0)
        self.tasks = list(tasks)
        self.reads = 0

    @property
    def targets(self):
        self.reads += 1
        return list(self.tasks)

    def change(self, tasks):
        self.tasks = list(tasks)
        self.tally.version += 1


def _chosen(E, round_robin: bool):
    """Packets at 0, 0.1, ..., 1.9 s to a service whose targets go from (a, b) to (c, a)
    at 0.95 s and are re-announced unchanged at 1.45 s; which device each packet
    crossed, and every (sender, target) the table had to resolve."""
    env = E.Environment()
    engine = E.Engine(env)
    flow = E.FlowStats("f", record=True)
    devices = {name: E.Device(name, latency=1e-3) for name in "abc"}
    routes = {name: E.Route([d], flow) for name, d in devices.items()}
    svc, resolved = _Service("ab"), []

    def resolve(src, dst):
        resolved.append((src, dst, env.now))
        return routes[dst]

    rng = np.random.default_rng(11)
    choice = E.Choice(None, E.TargetSet(svc), round_robin, E.Draws(rng.random, 8), resolve)
    E.Source(env, engine, rng, rate_per_s=10.0, arrival="constant", stop=2.0,
             pick_route=choice, stats=flow)

    def control():
        yield env.timeout(0.95)
        svc.change("ca")
        yield env.timeout(0.5)
        svc.change("ca")

    env.process(control())
    env.run()
    return flow, devices, resolved, svc


def test_choice_reroutes_when_the_targets_change(E):
    """Round robin over the targets (the turn goes on across changes), a route resolved
    once per pair while the targets stand, and the table emptied (the pairs resolved
    again, at their packet's time) when a service's targets change."""
    flow, devices, resolved, svc = _chosen(E, round_robin=True)
    assert flow.delivered == flow.sent == 20
    # 10 packets before the change alternate a, b; 10 after alternate c, a
    assert (devices["a"].packets, devices["b"].packets, devices["c"].packets) == (10, 5, 5)
    assert [(s, d) for s, d, _ in resolved] == [(None, "a"), (None, "b"), (None, "c"),
                                                (None, "a"), (None, "a"), (None, "c")]
    assert [round(t, 6) for *_, t in resolved] == [0.0, 0.1, 1.0, 1.1, 1.5, 1.6]
    assert svc.reads == 3  # the targets are read once per version, not per packet


def test_choice_draws_as_the_python_choice_does(E):
    """At random, the target is ``targets[int(u * len(targets))]`` with ``u`` the Draws'
    next value: the same targets, in the same order, as the data plane's Python choice."""
    flow, devices, resolved, _ = _chosen(E, round_robin=False)
    u = np.random.default_rng(11).random(8 * 4)
    expected = [("ab" if k < 10 else "ca")[int(u[k] * 2)] for k in range(20)]
    assert [devices[n].packets for n in "abc"] == [expected.count(n) for n in "abc"]
    assert flow.delivered == 20


def test_choice_counts_unreachable_targets_once_resolved(E):
    """A pair with no route counts its packets as unreachable, asking ``resolve`` once; a
    service with no target makes every packet unreachable without asking at all."""
    env = E.Environment()
    engine = E.Engine(env)
    flow = E.FlowStats("f")
    route = E.Route([E.Device("a", latency=1e-3)], flow)
    asked = []
    svc = _Service("ab")

    def resolve(src, dst):
        asked.append(dst)
        return route if dst == "a" else None

    choice = E.Choice(None, E.TargetSet(svc), True, E.Draws(np.random.default_rng(1).random),
                      resolve)
    E.Source(env, engine, np.random.default_rng(2), rate_per_s=10.0, arrival="constant",
             stop=1.0, pick_route=choice, stats=flow)

    def control():
        yield env.timeout(0.55)
        svc.change("")

    env.process(control())
    env.run()
    assert (flow.sent, flow.delivered, flow.unreachable) == (10, 3, 7)
    assert asked == ["a", "b"]


# --------------------------------------------------------------------------- 13. the clock
def _simpy_story(env) -> list:
    """Processes, a condition, runs stopped at an event and at a time then resumed, an
    interrupt and a failed event nobody defused: what happened, and when."""
    log = []

    def proc(name, delay):
        try:
            yield env.timeout(delay)
        except simpy.Interrupt as why:
            log.append((name, "interrupted", why.cause, env.now))
            return None
        log.append((name, env.now))
        return name

    a, b, c = env.process(proc("a", 1)), env.process(proc("b", 2)), env.process(proc("c", 5))
    log.append(("until a", env.run(until=a), env.now))
    log.append(("peek", env.peek()))
    env.run(until=1.5)
    log.append(("until 1.5", env.now))
    both = env.all_of([b, env.timeout(3)])
    env.run(until=both)
    c.interrupt("enough")
    env.run()
    log.append(("end", env.now, env.peek()))
    failed = env.event()
    failed.fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        env.run()
    return log


def test_environment_runs_simpy_models_as_simpy_does():
    """The engine's Environment (its own schedule, step and peek) gives a simpy model the
    same outcomes, at the same times, as simpy.Environment."""
    assert _simpy_story(Environment()) == _simpy_story(simpy.Environment())
    assert issubclass(Environment, simpy.Environment)


def test_a_compiled_engine_older_than_its_source_is_not_used(monkeypatch):
    """A ``_cengine`` built from an older source (its interface version differs) is set
    aside for the pure-Python core, with a warning that says so, instead of failing."""
    import ecsnetsim.net
    import ecsnetsim.net.engine as main_engine

    stale = types.ModuleType("ecsnetsim.net._cengine")
    stale.CORE_VERSION = 1
    monkeypatch.setattr(ecsnetsim.net, "_cengine", stale, raising=False)
    monkeypatch.setitem(sys.modules, "ecsnetsim.net._cengine", stale)
    monkeypatch.delenv("ECSNETSIM_PURE_PYTHON", raising=False)
    spec = importlib.util.spec_from_file_location("ecsnetsim.net._engine_stale",
                                                  main_engine.__file__)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    with pytest.warns(RuntimeWarning, match="older than its source"):
        spec.loader.exec_module(module)
    assert module.COMPILED is False
    assert module.PacketLoop.__module__ == "ecsnetsim.net._pyengine"
