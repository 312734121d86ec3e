"""timeseries.csv: each flow's and the busiest resources' figures per time window."""

from __future__ import annotations

import csv

import pytest
from conftest import make_scenario

import ecsnetsim
from ecsnetsim.net import timeseries


def _scenario(**over) -> dict:
    """A bridge service on a 2-vCPU instance with a steady flow and a burst that saturates
    the instance's vCPUs from 1.4 s to 1.6 s (traffic starts at 1 s, when the service is
    steady)."""
    sc = make_scenario(
        duration="1s",
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 1}]},
        services=[{"name": "web", "desired_count": 1, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 80}]}]}],
        traffic=[{"name": "steady", "to": "web", "rate": "2000/s"},
                 {"name": "burst", "to": "web", "rate": "400000/s", "start": "1.4s",
                  "stop": "1.6s"}], **over)
    return sc


@pytest.fixture(scope="module")
def burst():
    return ecsnetsim.simulate(_scenario(), seed=4, workers=1)


def _series(res, kind: str, name: str) -> list[dict]:
    return [r for r in res.timeseries if r["kind"] == kind and r["name"] == name]


def test_windows_add_up_to_the_flow(burst):
    """The windows tile the measured time and their packets add up to the flow's."""
    v = burst.variants[0]
    for f in v["flows"]:
        rows = _series(burst, "flow", f["name"])
        assert len(rows) == 10 and all(r["window_s"] == 0.1 for r in rows)
        starts = [r["t_start_s"] for r in rows]
        assert starts == pytest.approx([v["steady_at"] + 0.1 * k for k in range(10)])
        for key in ("sent", "delivered", "dropped", "unreachable"):
            assert sum(r[key] for r in rows) == f[key], (f["name"], key)
        weighted = sum(r["latency_mean_us"] * r["delivered"] for r in rows if r["delivered"])
        assert weighted / f["delivered"] == pytest.approx(f["latency_us"]["mean"], rel=1e-6)
        assert max(r["latency_p99_us"] for r in rows if r["delivered"]) >= \
            f["latency_us"]["p99"] * 0.999


def test_a_burst_shows_in_its_windows(burst):
    """The burst's packets, the steady flow's latency and the vCPU pool's queue rise in the
    burst's windows and fall back after it."""
    burst_rows = _series(burst, "flow", "burst")
    assert [r["sent"] > 0 for r in burst_rows] == [k in (4, 5) for k in range(10)]
    steady = _series(burst, "flow", "steady")
    quiet = max(steady[k]["latency_p99_us"] for k in (0, 1, 2, 8, 9))
    assert min(steady[k]["latency_p99_us"] for k in (4, 5)) > 10 * quiet
    cpu = [r for r in burst.timeseries if r["kind"] == "device" and r["name"].endswith("/cpu")
           and not r["name"].startswith("client")]
    assert cpu, "the instance's vCPU pool is among the busiest resources"
    by_k = {round((r["t_start_s"] - cpu[0]["t_start_s"]) / 0.1): r for r in cpu}
    assert by_k[4]["utilization"] > 0.9 and by_k[9]["utilization"] < 0.1
    assert by_k[4]["queue_len"] > 10 * max(by_k[9]["queue_len"], 0.01)
    assert by_k[5]["dropped"] >= 0 and sum(r["dropped"] for r in cpu) == sum(
        d["drops"] for d in burst.variants[0]["devices"] if d["kind"] == "vcpu_pool"
        and d["id"] == cpu[0]["name"])


def test_window_is_a_scenario_setting_and_long_runs_get_wider_ones():
    res = ecsnetsim.simulate(_scenario(timeseries={"window": "250ms"}), seed=4, workers=1)
    assert {r["window_s"] for r in _series(res, "flow", "steady")} == {0.25}
    assert timeseries.window_length(0.1, 3600.0) == pytest.approx(3.6)
    assert len(_series(res, "flow", "steady")) == 4


def test_timeseries_csv_is_written_and_read_back(burst, tmp_path):
    burst.save(tmp_path)
    with open(tmp_path / "timeseries.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(burst.timeseries)
    assert rows[0]["variant"] == burst.variants[0]["name"] and rows[0]["kind"] == "flow"
    back = ecsnetsim.Results.load(tmp_path)
    assert back.timeseries == burst.timeseries


def test_same_seed_same_series_across_workers():
    sc = ecsnetsim.load_scenario(_scenario(compare={"network_mode": ["bridge", "awsvpc"]}))
    one = ecsnetsim.simulate(sc, seed=2, workers=1)
    two = ecsnetsim.simulate(sc, seed=2, workers=2)
    assert one.to_json() == two.to_json()
    assert one.timeseries
