"""The one-line answer stays one readable line: what every variant shares is said once,
and a sweep over numbers names its first and last points only."""

from __future__ import annotations

import re

from conftest import SCENARIOS

import ecsnetsim
from ecsnetsim.report import SWEEP_POINTS_NAMED, answer


def _run(name: str, *overrides: str):
    sc = ecsnetsim.load_scenario(SCENARIOS / f"{name}.yaml", overrides=list(overrides))
    return ecsnetsim.simulate(sc, workers=1)


def test_what_every_variant_shares_is_said_once():
    res = _run("compare-modes", "duration=0.05s", "warmup=0s")
    line = answer(res)
    shared = {f"{s['running']}/{s['desired']}" for v in res.variants
              for s in v["placement"]["services"]}
    assert len(shared) == 1  # every variant runs all its tasks
    (count,) = shared
    assert line.startswith(f"{count} running in every variant; ")
    assert line.count(f"{count} running") == 1
    for v in res.variants:  # each variant still named with what differs
        assert f"{v['name']}: ingress " in line


def test_a_numeric_sweep_names_its_first_and_last_points():
    res = _run("bridge-contention", "duration=0.02s", "warmup=0s")
    line = answer(res)
    for group in ("awsvpc", "bridge"):
        points = [v["sweep"]["value"] for v in res.variants if v["group"] == group]
        assert len(points) > SWEEP_POINTS_NAMED
        segment = re.search(rf"(?:^|; ){group}: (.*?)(?:; |$)", line).group(1)
        assert points[0] in segment and points[-1] in segment
        assert not any(p in segment for p in points[1:-1]), segment
        assert f"({len(points)} points)" in segment


def test_a_sweep_over_names_names_every_point():
    res = _run("eni-trunking-sizes")
    line = answer(res)
    for v in res.variants:
        assert f"{v['sweep']['value']} " in line
        running = sum(s["running"] for s in v["placement"]["services"])
        assert f"{v['sweep']['value']} {running}/" in line


def test_a_difference_that_rounds_to_zero_has_no_minus_sign():
    """deploy-static-port's variants differ in deployment settings only: their latency
    differences are floating-point noise, and the summary must not print them as -0.0
    (a gain that is not there)."""
    from ecsnetsim.report import _signed, summary

    assert (_signed(-1e-9, 1), _signed(-0.04, 1), _signed(-0.06, 1)) == ("+0.0", "+0.0", "-0.1")
    assert (_signed(0.0, 2), _signed(2.5, 2)) == ("+0.00", "+2.50")
    res = _run("deploy-static-port")
    text = summary(res)
    block = text[text.index("== comparison"):]
    assert "-0.0" not in block and "+0.0us mean" in block
