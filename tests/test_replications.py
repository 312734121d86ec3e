"""Replications with 95 % confidence intervals: common random numbers across variants,
intervals that shrink as 1/sqrt(R), paired differences that find a real difference and
not an identical one, and a precision target."""

from __future__ import annotations

import json
import math

import pytest
from conftest import make_scenario

from ecsnetsim import load_scenario, replications, simulate
from ecsnetsim.cli import main


def _loaded(rate: str = "3000/s", **over) -> dict:
    """A c5.large whose bridge task sees Poisson traffic: latency varies run to run."""
    return make_scenario(
        duration=0.5,
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 1,
                                      "subnet": "a"}]},
        services=[{"name": "s", "desired_count": 1, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 80}]}]}],
        traffic=[{"name": "f", "to": "s", "rate": rate, "size": 200}], **over)


def test_one_replication_is_the_plain_run_byte_for_byte():
    plain = simulate(_loaded(), workers=1).to_json()
    one = simulate(_loaded(), workers=1, replications=1).to_json()
    assert plain == one


def test_seeds_start_with_the_scenarios_and_extend_consistently():
    assert replications.seeds(7, 1) == [7]
    assert replications.seeds(7, 5)[:3] == replications.seeds(7, 3)
    assert len(set(replications.seeds(7, 20))) == 20


def test_intervals_shrink_as_one_over_sqrt_r():
    """half-width * sqrt(R) / t(R-1) estimates the standard deviation: about the same at
    R = 4 and R = 16 (within sampling error), so the half-width falls as 1/sqrt(R)."""
    def scaled(r):
        f = simulate(_loaded("20000/s"), workers=1, replications=r).variants[0]["flows"][0]
        lo, hi = f["ci95"]["latency_mean_us"]
        return (hi - lo) / 2 * math.sqrt(r) / replications.t975(r - 1)

    s4, s16 = scaled(4), scaled(16)
    assert 0.3 < s4 / s16 < 3.0
    assert s4 > 0 and s16 > 0


def test_a_real_difference_is_significant_and_an_identical_one_is_not():
    sc = _loaded("20000/s", compare={"variants": [
        {"name": "host", "set": {"network_mode": "host"}},
        {"name": "host again", "set": {"network_mode": "host"}},
        {"name": "bridge", "set": {"network_mode": "bridge"}}]})
    res = simulate(sc, workers=1, replications=5)
    rows = {r["variant"]: r["difference"] for r in res.comparison["flows"]}
    assert rows["bridge"]["significant"] and rows["bridge"]["ci95"][0] > 0
    assert not rows["host again"]["significant"]  # common random numbers: exactly equal
    assert rows["host again"]["mean"] == 0
    assert res.document["replications"] == 5


def test_counts_add_up_over_replications_and_the_mean_is_the_replications_mean():
    single = [simulate(_loaded(), workers=1, seed=s).variants[0]["flows"][0]
              for s in replications.seeds(0, 3)]
    both = simulate(_loaded(), workers=1, replications=3).variants[0]["flows"][0]
    assert both["sent"] == sum(f["sent"] for f in single)
    assert both["sent"] == both["delivered"] + both["dropped"] + both["unreachable"] + \
        both["in_flight"]
    assert both["latency_us"]["mean"] == pytest.approx(
        sum(f["latency_us"]["mean"] for f in single) / 3, abs=1e-6)
    assert both["replications"] == 3


def test_precision_adds_replications_until_the_intervals_are_narrow():
    """The run stops at the first replication count whose intervals are narrow enough,
    checked against the same replications run one by one: precise at n, not at n - 1."""
    from ecsnetsim.simulate import MAX_REPLICATIONS

    sc = _loaded("20000/s")
    res = simulate(sc, workers=1, precision=0.01)
    n = res.document["replications"]
    assert 2 < n < MAX_REPLICATIONS  # reached by the target, not by the cap
    seed = load_scenario(sc).seed
    runs = [simulate(sc, workers=1, seed=s).variants[0] for s in replications.seeds(seed, n)]
    assert replications.precise_enough([runs], 0.01)
    assert not replications.precise_enough([runs[:-1]], 0.01)
    f = res.variants[0]["flows"][0]
    assert f["ci95"]["latency_mean_us"] == pytest.approx(
        replications.interval([r["flows"][0]["latency_us"]["mean"] for r in runs]))


def test_deployments_get_intervals():
    sc = make_scenario(
        duration=20,
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 2,
                                      "subnet": "a"}]},
        services=[{"name": "s", "desired_count": 2, "network_mode": "bridge", "cpu": 0,
                   "memory": 1}], events=[{"at": 2, "deploy": "s", "set": {"cpu": 8}}])
    (d,) = simulate(sc, workers=1, replications=3).variants[0]["deployments"]
    assert d["replications"] == 3 and set(d["ci95"]) == {"finished_at", "zero_healthy_seconds"}
    singles = [simulate(sc, workers=1, seed=s).variants[0]["deployments"][0]
               for s in replications.seeds(load_scenario(sc).seed, 3)]
    for key in ("finished_at", "zero_healthy_seconds"):  # the interval of the runs' values
        assert d["ci95"][key] == pytest.approx(replications.interval([x[key] for x in singles]))


def test_cli_replications_and_precision(tmp_path, capsys):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_loaded()))
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--no-plots", "--replications", "3"]) == 0
    assert "3 replications; 95% interval of the mean" in capsys.readouterr().out
    doc = json.loads((out / "results.json").read_text())
    assert doc["variants"][0]["flows"][0]["ci95"]["latency_mean_us"] is not None
    with pytest.raises(SystemExit) as bad:
        main(["run", str(path), "-o", str(out), "--precision", "200%"])
    assert bad.value.code == 2
    assert load_scenario(str(path), overrides=["replications=4"]).replications == 4
