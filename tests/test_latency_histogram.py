"""The latency histogram against exact percentiles: its stated error bound, merging,
fixed memory, and the same figures whether a flow keeps its latencies or not."""

from __future__ import annotations

import numpy as np
import pytest

from ecsnetsim.net.engine import (
    Device,
    Engine,
    Environment,
    FlowStats,
    LatencyHistogram,
    Route,
    sampler,
)
from ecsnetsim.net.traffic import Source

QS = [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 100]
ALPHA = LatencyHistogram.REL_ERROR


def _samples():
    rng = np.random.default_rng(20240611)
    yield "exponential", rng.exponential(40e-6, 200_000)
    yield "lognormal, 8 decades", rng.lognormal(np.log(1e-4), 3.0, 100_000)
    yield "with zeros", np.where(rng.random(50_000) < 0.3, 0.0, rng.exponential(1.0, 50_000))
    yield "one value", np.full(1000, 35.6e-6)
    yield "two values", np.array([1e-6, 3e-6])
    yield "one", np.array([7e-6])
    yield "integers in us", np.arange(1, 101) * 1e-6


@pytest.mark.parametrize("name,x", list(_samples()), ids=[n for n, _ in _samples()])
def test_percentiles_within_the_stated_relative_error(name, x):
    h = LatencyHistogram()
    for chunk in np.array_split(x, 7):
        h.add(chunk)
    exact = np.percentile(x, QS)
    approx = np.asarray(h.percentiles(QS))
    assert np.all(np.abs(approx - exact) <= ALPHA * exact + 1e-300), (approx - exact) / exact
    assert h.count == len(x) and h.min == x.min() and h.max == x.max()
    assert h.mean == pytest.approx(x.mean(), rel=1e-12)


def test_error_bound_is_tight_enough_to_matter():
    """Not vacuous: percentiles are not exact, but every one is within REL_ERROR."""
    x = np.random.default_rng(1).exponential(1.0, 100_000)
    h = LatencyHistogram()
    h.add(x)
    rel = np.abs(np.asarray(h.percentiles(range(1, 100))) / np.percentile(x, range(1, 100)) - 1)
    assert rel.max() <= ALPHA and rel.max() > ALPHA / 20


def test_merge_equals_one_histogram_of_all_values():
    rng = np.random.default_rng(3)
    a, b = rng.exponential(1e-5, 30_000), rng.exponential(1e-2, 20_000)  # far apart ranges
    ha, hb, hab = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    ha.add(a)
    hb.add(b)
    hab.add(np.concatenate([a, b]))
    ha.merge(hb)
    assert ha.percentiles(QS) == hab.percentiles(QS)
    assert (ha.count, ha.min, ha.max, ha.zeros) == (hab.count, hab.min, hab.max, hab.zeros)
    assert ha.total == pytest.approx(hab.total, rel=1e-12)
    empty = LatencyHistogram()
    empty.merge(ha)
    assert empty.percentiles(QS) == ha.percentiles(QS)


def test_memory_does_not_grow_with_the_number_of_values():
    rng = np.random.default_rng(4)
    h = LatencyHistogram()
    h.add(rng.uniform(1e-6, 1e-3, 1000))
    size = h._counts.nbytes
    for _ in range(20):
        h.add(rng.uniform(1e-6, 1e-3, 100_000))
    assert h._counts.nbytes == size <= 11 * LatencyHistogram.SUB * 8  # 11 powers of two
    assert h.count == 2_001_000


def test_rejects_negative_and_non_finite_values():
    for bad in ([-1.0], [np.nan], [np.inf]):
        with pytest.raises(ValueError):
            LatencyHistogram().add(bad)
    assert np.isnan(LatencyHistogram().percentiles([50])[0])


def _flow_run(keep: bool):
    rng = np.random.default_rng(5)
    g_arr, g_svc = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(2))
    env = Environment()
    engine = Engine(env, warmup=10.0)
    flow = FlowStats("f", keep_latencies=keep)
    route = Route([Device("d", service_sampler=sampler(lambda n: g_svc.exponential(0.8, n)))],
                  flow)
    Source(env, engine, g_arr, rate_per_s=1.0, stop=200_000.0, pick_route=lambda: route,
           stats=flow)
    env.run()
    return flow


def test_flow_that_does_not_keep_latencies_reports_the_same_figures():
    kept, streamed = _flow_run(True), _flow_run(False)
    assert streamed.delivered > 3 * FlowStats.FLUSH  # several flushes of the buffer
    assert len(streamed._lat) < FlowStats.FLUSH  # only the buffer is kept
    assert streamed.latency_summary_us() == kept.latency_summary_us()
    with pytest.raises(AttributeError, match="keep_latencies"):
        streamed.latencies  # noqa: B018
    exact = np.percentile(np.asarray(kept.latencies) * 1e6, [50, 90, 99])
    s = kept.latency_summary_us()
    for value, want in zip((s["p50"], s["p90"], s["p99"]), exact, strict=True):
        assert abs(value - want) <= ALPHA * want
    assert s["mean"] == pytest.approx(np.mean(kept.latencies) * 1e6, rel=1e-12)
    assert s["max"] == max(kept.latencies) * 1e6
