"""Every phrase of the one-line answer is checked against the rows of the run it sums up:
running never above desired, "at most N per TYPE" only where every instance of the type
holds N tasks and a per-instance resource binds, a launch failure said as "failed to
start" and a health-check kill as "stopped" (the task had started), "blocked at" a device
id with its kind."""

from __future__ import annotations

import functools
import re

import pytest
from conftest import SCENARIOS

from ecsnetsim import load_scenario, simulate
from ecsnetsim.report import _facts, answer, summary

PATHS = sorted(SCENARIOS.glob("*.yaml"))
FAST = {"bridge-contention": ["duration=0.03s", "warmup=0.01s"],
        "compare-modes": ["duration=0.5s"], "fargate-vs-ec2": ["duration=0.5s"]}


@functools.cache
def _run(name: str):
    sc = load_scenario(SCENARIOS / f"{name}.yaml", overrides=FAST.get(name, []))
    return simulate(sc, workers=1)


def _texts(v: dict) -> list[str]:
    return [text for _, text in _facts(v)]


def _all_kinds(res) -> dict[str, str]:
    return {d["id"]: d["kind"] for v in res.variants for d in v["devices"]}


@pytest.mark.parametrize("name", [p.stem for p in PATHS])
def test_every_phrase_matches_the_rows(name):
    res = _run(name)
    kinds = _all_kinds(res)
    for v in res.variants:
        services = v["placement"]["services"]
        desired = sum(s["desired"] for s in services)
        running = sum(s["running"] for s in services)
        old = sum(s["running_old"] for s in services)
        texts = _texts(v)
        said, of = (int(x) for x in re.match(r"(\d+)/(\d+) running", texts[0]).groups())
        assert of == desired and said <= desired, (v["name"], texts[0])
        assert said == (running if running <= desired else running - old), texts[0]
        if running > desired:
            assert f"+{old} old" in texts[0], texts[0]
        launch = {r for s in services for r in s["launch_failures"]}
        stops = {r for s in services for r in s["stopped"]}
        placement = {r for s in services for r in s["failures"]} - launch - stops
        for text in texts:
            for n, itype in re.findall(r"(\d+) per (\S+)", text):
                held = {i["tasks"] for i in v["placement"]["instances"] if i["type"] == itype}
                assert held == {int(n)}, (v["name"], text, held)
                assert any(r.startswith("RESOURCE:") for r in placement), (v["name"], text)
            if text.startswith("failed to start: "):
                assert set(text.removeprefix("failed to start: ").split(" and ")) <= launch
            if text.startswith("stopped: "):
                assert set(text.removeprefix("stopped: ").split(" and ")) <= stops
            if text.startswith("bound by "):
                assert set(text.removeprefix("bound by ").split(" and ")) <= placement
            m = re.match(r"(\S+) blocked at (\S+) \((\w+)\)$", text)
            if m:
                flow = next(f for f in v["flows"] if f["name"] == m.group(1))
                assert m.group(2) == flow["blocked"]["at"]
                assert m.group(3) == kinds.get(m.group(2), m.group(3))
                assert "/" in m.group(2) or m.group(2).startswith("eni-"), text
        assert not any(t.startswith("failed to start: ") and set(
            t.split(": ", 1)[1].split(" and ")) & stops for t in texts), texts


def _variant(res, name):
    return next(v for v in res.variants if v["name"] == name)


def test_a_subnet_that_binds_is_named_not_a_count_per_instance():
    """Three hosts holding 2, 0 and 3 tasks: "at most 3 per c5.large" is no limit; the
    tasks failed to start because the subnet has no address left."""
    res = _run("subnet-exhaustion")
    (v,) = res.variants
    assert len({i["tasks"] for i in v["placement"]["instances"]}) > 1
    line = answer(res)
    assert "per c5.large" not in line
    assert "failed to start: InsufficientFreeAddressesInSubnet" in line
    assert "subnet tiny has no address free" in line
    assert v["placement"]["subnets"][0]["ips_free"] == 0


def test_tasks_killed_by_health_checks_are_stopped_not_failed_to_start():
    res = _run("security-groups")
    v = _variant(res, "bridge hosts-8080")
    (svc,) = v["placement"]["services"]
    assert svc["stopped"]["ELB:UNHEALTHY"] > svc["desired"]
    assert "ELB:UNHEALTHY" not in svc["launch_failures"]
    texts = _texts(v)
    assert "stopped: ELB:UNHEALTHY" in texts
    assert not any("per m5.large" in t or "failed to start" in t for t in texts), texts
    text = summary(res)
    block = text[text.index("== variant bridge hosts-8080"):]
    assert f"stopped ELB:UNHEALTHY×{svc['stopped']['ELB:UNHEALTHY']}" in block
    assert "failed to start ELB" not in text


def test_a_stalled_deployment_never_says_more_running_than_desired():
    res = _run("deploy-slow-start")
    v = _variant(res, "no-grace")
    (svc,) = v["placement"]["services"]
    assert svc["running"] > svc["desired"]  # old and new tasks at the end
    new = svc["running"] - svc["running_old"]
    assert _texts(v)[0] == (f"{new}/{svc['desired']} running the new revision, "
                            f"+{svc['running_old']} old")
    assert f"{svc['running']}/{svc['desired']} running" not in answer(res)
