"""Deployments, events and scaling in simulated time.

Expected waves, durations and healthy minimums are computed from the configuration
(delays, health check, deregistration delay, percentages), not copied from a run.
"""

from __future__ import annotations

import math

import pytest
from conftest import SCENARIOS, make_scenario

import ecsnetsim


def load(name, *overrides):
    return ecsnetsim.load_scenario(SCENARIOS / f"{name}.yaml", overrides=list(overrides))


def deployment(res, variant=None):
    v = res.variant(variant) if variant else res.variants[0]
    (dep,) = v["deployments"]
    return dep


def wave_seconds(sc, svc_index=0, attach=0.0):
    """One wave: attach + container start + health check + deregistration delay."""
    svc = sc.services[svc_index]
    agent = sc.cluster.instance_groups[0].agent
    hc = svc.health_check
    health = (hc.interval * hc.healthy_threshold) if hc else 30 * 5
    return attach + agent.container_start_delay + health, svc.deregistration_delay


@pytest.fixture(scope="module")
def static_port():
    sc = load("deploy-static-port")
    return sc, ecsnetsim.simulate(sc)


def test_static_port_rollout_cannot_start(static_port):
    sc, res = static_port
    dep = deployment(res, "three-instances")
    assert dep["status"] == "STALLED" and dep["finished_at"] is None
    assert dep["waves"] == 0 and "RESOURCE:PORTS" in dep["failures"]
    assert dep["min_healthy_observed"] == sc.services[0].desired_count
    events = [e["message"] for e in res.variant("three-instances")["placement"]["events"]]
    assert any("already using a port required by your task" in m for m in events)
    assert any("STALLED" in m for m in events)


def test_spare_instance_completes_in_waves_never_below_minimum(static_port):
    sc, res = static_port
    v = next(x for x in ecsnetsim.scenario.variants_of(sc) if x.name == "spare-instance")
    spare = v.scenario.cluster.instance_groups[0].count - v.scenario.services[0].desired_count
    desired = v.scenario.services[0].desired_count
    dep = deployment(res, "spare-instance")
    up, drain = wave_seconds(v.scenario)
    waves = math.ceil(desired / spare)
    assert dep["status"] == "COMPLETED" and dep["waves"] == waves
    assert dep["finished_at"] == pytest.approx(dep["started_at"] + waves * (up + drain))
    min_pct = v.scenario.services[0].deployment.minimum_healthy_percent
    assert dep["min_healthy_observed"] >= math.ceil(desired * min_pct / 100)
    assert dep["zero_healthy_seconds"] == 0


def test_minimum_zero_completes_with_a_zero_healthy_window(static_port):
    sc, res = static_port
    v = next(x for x in ecsnetsim.scenario.variants_of(sc) if x.name == "min0-max100")
    up, drain = wave_seconds(v.scenario)
    dep = deployment(res, "min0-max100")
    # every old task drains first (maximum 100 %: no room to start any new one)
    assert dep["status"] == "COMPLETED" and dep["min_healthy_observed"] == 0
    assert dep["finished_at"] == pytest.approx(dep["started_at"] + drain + up)
    assert dep["zero_healthy_seconds"] == pytest.approx(drain + up)
    flow = res.variant("min0-max100")["flows"][0]
    rate = v.scenario.traffic[0].rate
    expected = rate * dep["zero_healthy_seconds"]
    assert abs(flow["unreachable"] - expected) < 5 * math.sqrt(expected)
    assert res.variant("spare-instance")["flows"][0]["unreachable"] == 0


def test_dynamic_ports_complete_in_one_wave(static_port):
    sc, res = static_port
    v = next(x for x in ecsnetsim.scenario.variants_of(sc) if x.name == "dynamic-ports")
    up, drain = wave_seconds(v.scenario)
    dep = deployment(res, "dynamic-ports")
    assert dep["status"] == "COMPLETED" and dep["waves"] == 1
    assert dep["finished_at"] == pytest.approx(dep["started_at"] + up + drain)
    assert dep["min_healthy_observed"] == v.scenario.services[0].desired_count


def test_awsvpc_stalls_on_enis_and_completes_with_trunking():
    sc = load("deploy-awsvpc-eni")
    res = ecsnetsim.simulate(sc)
    plain = deployment(res, "account.awsvpc_trunking=false")
    assert plain["status"] == "STALLED" and "RESOURCE:ENI" in plain["failures"]
    trunk = deployment(res, "account.awsvpc_trunking=true")
    agent = sc.cluster.instance_groups[0].agent
    up, drain = wave_seconds(sc, attach=agent.branch_attach_delay)
    assert trunk["status"] == "COMPLETED" and trunk["waves"] == 1
    assert trunk["finished_at"] == pytest.approx(trunk["started_at"] + up + drain)


def test_subnet_too_small_for_the_surge():
    sc = load("deploy-subnet-surge")
    res = ecsnetsim.simulate(sc)
    net = sc.vpc.subnets[0]
    usable = 2 ** (32 - int(net.cidr.split("/")[1])) - 5
    hosts = sc.cluster.instance_groups[0].count
    desired = sc.services[0].desired_count
    surge = desired * sc.services[0].deployment.maximum_percent // 100 - desired
    short = desired + surge - (usable - 2 * hosts)
    dep = deployment(res)
    assert dep["status"] == "COMPLETED"
    svc = res.variants[0]["placement"]["services"][0]
    assert svc["launch_failures"]["InsufficientFreeAddressesInSubnet"] >= short > 0
    # the tasks short of an address start once old tasks have drained and freed theirs
    assert dep["waves"] == 2
    events = [e["message"] for e in res.variants[0]["placement"]["events"]]
    assert any("InsufficientFreeAddressesInSubnet" in m for m in events)


def test_daemon_update_stops_before_it_starts():
    sc = load("deploy-daemon")
    res = ecsnetsim.simulate(sc)
    dep = deployment(res)
    n = sc.cluster.instance_groups[0].count
    assert dep["status"] == "COMPLETED" and dep["min_healthy_observed"] == 0
    assert [i["tasks"] for i in res.variants[0]["placement"]["instances"]] == [1] * n
    svc = res.variants[0]["placement"]["services"][0]
    assert svc["desired"] == svc["running"] == n


def test_instance_drained_mid_deployment():
    sc = load("deploy-drain")
    res = ecsnetsim.simulate(sc)
    dep = deployment(res)
    desired = sc.services[0].desired_count
    assert dep["status"] == "COMPLETED"
    assert dep["min_healthy_observed"] >= desired
    drained = res.variants[0]["placement"]["instances"][0]
    assert drained["tasks"] == 0 and drained["status"] == "DRAINING"
    assert res.variants[0]["placement"]["services"][0]["running"] == desired


def test_draining_every_instance_leaves_no_container_instance():
    sc = load("deploy-drain")
    hosts = sc.cluster.instance_groups[0].count
    res = ecsnetsim.simulate(load("deploy-drain", f"events[1].drain.count={hosts}"))
    v = res.variants[0]
    dep = deployment(res)
    assert dep["status"] == "STALLED" and set(dep["failures"]) == {"NO_INSTANCES"}
    assert all(i["status"] == "DRAINING" for i in v["placement"]["instances"])
    drains = [e for e in v["placement"]["events"] if e.get("kind") == "drain"]
    assert sum(e["instances"] for e in drains) == hosts
    # draining instances are no candidates: ECS finds no container instance at all
    assert any("No Container Instances were found in your cluster" in e["message"]
               for e in v["placement"]["events"])
    for task in v["placement"]["unplaced"]:
        assert task["closest"] is None
        assert all(w.startswith("NOT_ACTIVE: instance is DRAINING")
                   for w in task["why_not"].values())


def test_managed_scale_out_counts_enis():
    sc = load("scale-out")
    res = ecsnetsim.simulate(sc)
    g = sc.cluster.instance_groups[0]
    per = 2  # c5.large: 3 ENIs, the primary takes one
    need = math.ceil(sc.services[0].desired_count / per)
    insts = res.variants[0]["placement"]["instances"]
    assert len(insts) == need <= g.scaling.max
    assert res.variants[0]["steady_at"] == pytest.approx(
        g.scaling.launch_delay + g.agent.eni_attach_delay + g.agent.container_start_delay)
    svc = res.variants[0]["placement"]["services"][0]
    assert svc["running"] == sc.services[0].desired_count
    assert svc["last_running_at"] == res.variants[0]["steady_at"]


def test_scale_event_and_terminate():
    sc = make_scenario(
        duration="5min",
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 3}]},
        services=[{"name": "s", "desired_count": 3, "cpu": 0, "memory": 1,
                   "placement_strategy": [{"type": "spread", "field": "instanceId"}]}],
        events=[{"at": "1min", "scale": "s", "desired_count": 6},
                {"at": "2min", "terminate": {"group": "g", "count": 1}}])
    res = ecsnetsim.simulate(sc)
    v = res.variants[0]
    assert v["placement"]["services"][0]["running"] == 6
    assert [i["tasks"] for i in v["placement"]["instances"]][0] == 0
    rows = [r for r in v["timeline"] if r["t"] >= 60]
    assert any(r["running_new"] == 6 for r in rows)
    assert all(a["t"] <= b["t"] for a, b in zip(v["timeline"], v["timeline"][1:], strict=False))


def test_circuit_breaker_rolls_back():
    sc = make_scenario(
        duration="20min",
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "az": "us-east-1a"},
                         {"name": "full", "cidr": "10.0.1.0/28", "az": "us-east-1a",
                          "reserved_ips": 11}]},
        cluster={"instance_groups": [{"name": "g", "type": "m5.xlarge", "count": 2,
                                      "subnet": "a"}]},
        services=[{"name": "s", "desired_count": 2, "network_mode": "awsvpc", "cpu": 0,
                   "memory": 1, "subnets": ["a"],
                   "deployment": {"circuit_breaker": {"enable": True, "rollback": True}}}],
        events=[{"at": "1min", "deploy": "s", "set": {"subnets": ["full"]}}])
    res = ecsnetsim.simulate(sc)
    deps = res.variants[0]["deployments"]
    assert [d["status"] for d in deps] == ["ROLLED_BACK", "COMPLETED"]
    assert deps[0]["failures"]["InsufficientFreeAddressesInSubnet"] >= 3


# ---- slow start: health checks, grace period, circuit breaker ------------------------------

def health_timing(hc, startup):
    """From the ALB's rules: the first passing check, when the target turns unhealthy (if it
    does) and when it turns healthy, in seconds after the task starts RUNNING."""
    first_pass = max(1, math.ceil(startup / hc.interval))
    healthy = (first_pass + hc.healthy_threshold - 1) * hc.interval
    unhealthy = hc.unhealthy_threshold * hc.interval \
        if first_pass - 1 >= hc.unhealthy_threshold else None
    return unhealthy, healthy


@pytest.fixture(scope="module")
def slow_start():
    sc = load("deploy-slow-start")
    return {v.name: v.scenario for v in ecsnetsim.scenario.variants_of(sc)}, \
        ecsnetsim.simulate(sc)


def _new_revision(sc):
    """The service as the deploy event sets it (startup_time changes)."""
    (ev,) = sc.events
    return type(sc.services[0]).model_validate({**sc.services[0].model_dump(by_alias=True),
                                                 **ev.set})


def test_grace_period_long_enough_completes_in_one_wave(slow_start):
    scs, res = slow_start
    sc = scs["grace-300s"]
    svc = _new_revision(sc)
    hc = svc.health_check
    unhealthy, healthy = health_timing(hc, svc.startup_time)
    assert unhealthy is not None and unhealthy < hc.grace_period  # unhealthy, but ignored
    assert healthy <= hc.grace_period
    dep = deployment(res, "grace-300s")
    start = sc.cluster.instance_groups[0].agent.container_start_delay
    assert dep["status"] == "COMPLETED" and dep["waves"] == 1 and not dep["failures"]
    assert dep["finished_at"] == pytest.approx(
        dep["started_at"] + start + healthy + svc.deregistration_delay)
    assert dep["min_healthy_observed"] == svc.desired_count


@pytest.mark.parametrize("variant", ["no-grace", "grace-150s"])
def test_grace_period_too_short_stalls_on_failed_health_checks(slow_start, variant):
    scs, res = slow_start
    sc = scs[variant]
    svc = _new_revision(sc)
    hc = svc.health_check
    unhealthy, healthy = health_timing(hc, svc.startup_time)
    stop_after = max(unhealthy, hc.grace_period)
    assert stop_after < healthy
    dep = deployment(res, variant)
    assert dep["status"] == "STALLED" and dep["finished_at"] is None
    assert dep["waves"] == 1  # replacing failed new tasks is no new wave: no old task stopped
    assert dep["failures"]["ELB:UNHEALTHY"] >= svc.desired_count
    assert dep["min_healthy_observed"] == svc.desired_count  # the old tasks keep serving
    v = res.variant(variant)
    start = sc.cluster.instance_groups[0].agent.container_start_delay
    first = min(e["t"] for e in v["placement"]["events"] if "is unhealthy in" in e["message"])
    assert first == pytest.approx(dep["started_at"] + start + stop_after)
    assert v["flows"][0]["unreachable"] == 0  # traffic never went to an unhealthy target


def test_longer_grace_period_means_fewer_failed_tasks(slow_start):
    _, res = slow_start
    failed = [deployment(res, n)["failures"]["ELB:UNHEALTHY"] for n in ("no-grace", "grace-150s")]
    assert failed[0] > failed[1]


def test_circuit_breaker_rolls_back_after_failed_health_checks(slow_start):
    scs, res = slow_start
    sc = scs["circuit-breaker"]
    svc = _new_revision(sc)
    unhealthy, _ = health_timing(svc.health_check, svc.startup_time)
    start = sc.cluster.instance_groups[0].agent.container_start_delay
    failed, rollback = res.variant("circuit-breaker")["deployments"]
    threshold = min(max(math.ceil(svc.desired_count / 2), 3), 200)  # ECS's formula
    assert failed["status"] == "ROLLED_BACK"
    assert failed["failures"] == {"ELB:UNHEALTHY": threshold}
    assert failed["finished_at"] == pytest.approx(failed["started_at"] + start + unhealthy)
    assert rollback["status"] == "COMPLETED"


def test_startup_within_the_unhealthy_threshold_only_delays_health():
    """An app that answers before the second check never turns unhealthy: no grace needed."""
    sc = ecsnetsim.load_scenario(SCENARIOS / "deploy-slow-start.yaml", overrides=[
        "compare={}", "events[0].set.startup_time=45s"])
    svc = _new_revision(sc)
    unhealthy, healthy = health_timing(svc.health_check, svc.startup_time)
    assert unhealthy is None
    dep = deployment(ecsnetsim.simulate(sc))
    start = sc.cluster.instance_groups[0].agent.container_start_delay
    assert dep["status"] == "COMPLETED" and not dep["failures"]
    assert dep["finished_at"] == pytest.approx(
        dep["started_at"] + start + healthy + svc.deregistration_delay)


def test_timeline_file_is_written(tmp_path):
    res = ecsnetsim.simulate(load("deploy-daemon"))
    res.save(tmp_path)
    lines = (tmp_path / "timeline.csv").read_text().splitlines()
    assert lines[0] == "variant,t,service,running_old,running_new,pending,healthy,draining"
    assert len(lines) - 1 == len(res.variants[0]["timeline"])


def test_invalid_events_are_located():
    bad = make_scenario(events=[{"at": "1s", "deploy": "nope"}])
    with pytest.raises(ecsnetsim.ScenarioError, match="no service named 'nope'"):
        ecsnetsim.load_scenario(bad)
    bad = make_scenario(events=[{"at": "1s", "scale": "s"}])
    with pytest.raises(ecsnetsim.ScenarioError, match="desired_count"):
        ecsnetsim.load_scenario(bad)
    bad = make_scenario(events=[{"at": "1s", "deploy": "s", "set": {"cpu": "lots"}}])
    with pytest.raises(ecsnetsim.ScenarioError) as exc:
        ecsnetsim.load_scenario(bad)
    assert exc.value.path.startswith("events[0].set")
