"""The CODE_DEPLOY (blue/green) deployment controller, through the public API and CLI.

Sources: ECS Developer Guide, "CodeDeploy blue/green deployments for Amazon ECS" (the
replacement task set, canary / linear / all-at-once traffic shifting, the predefined
configurations); CodeDeploy API reference, BlueInstanceTerminationOption
(``terminationWaitTimeInMinutes``: "the number of minutes before deleting the original
(blue) task set", at most 2880); ECS API reference, DeploymentConfiguration (for
CODE_DEPLOY services minimumHealthyPercent and maximumPercent apply only while instances
drain). Expected figures are worked out from the scenario's settings and the shift times
the run reports, never copied from a run.
"""

from __future__ import annotations

import re

import pytest
from conftest import SCENARIOS, make_scenario, run_cli

import ecsnetsim
from ecsnetsim.scenario.schema import CODEDEPLOY_ECS_CONFIGS


def deployment(res, variant=None) -> dict:
    v = res.variant(variant) if variant else res.variants[0]
    (dep,) = v["deployments"]
    return dep


def cluster(count: int, mode: str = "awsvpc", desired: int = 2, port: dict | None = None,
            **svc) -> dict:
    """``count`` c5.large behind an ALB named front, one service ``api`` with a deploy
    event at 60 s; ``svc`` overrides the service's fields."""
    target = "ip" if mode == "awsvpc" else "instance"
    service = {"name": "api", "desired_count": desired, "network_mode": mode, "cpu": 256,
               "memory": 512, "load_balancer": "front",
               "containers": [{"name": "app", "port_mappings": [port or
                                                                {"container_port": 8080}]}],
               "health_check": {"interval": "5s", "healthy_threshold": 2},
               "deregistration_delay": "10s"}
    service.update(svc)
    return make_scenario(
        duration="8min",
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": count,
                                      "subnet": "a"}]},
        load_balancers=[{"name": "front", "type": "alb", "target_type": target}],
        services=[service],
        events=[{"at": "60s", "deploy": "api"}])


def code_deploy(**blue_green) -> dict:
    return {"deployment_controller": "CODE_DEPLOY", "blue_green": blue_green}


def task_sets(res, variant=None) -> tuple[set[str], set[str]]:
    """(original, replacement) task ids: those started before and after the deployment
    began, from the service's events."""
    v = res.variant(variant) if variant else res.variants[0]
    began = deployment(res, variant)["started_at"]
    before, after = set(), set()
    for e in v["placement"]["events"]:
        ids = set(re.findall(r"\(task ([\w-]+)\)", e["message"]))
        if "has started" in e["message"]:
            (before if e["t"] < began else after).update(ids)
    return before, after


def delivered_to(res, tasks: set[str], variant=None) -> int:
    """Packets the tasks' own ENIs received (the task ENI's receive device, awsvpc)."""
    v = res.variant(variant) if variant else res.variants[0]
    return sum(d["packets"] for d in v["devices"]
               if d["id"].endswith("/eni:rx") and d["id"].split("/")[0] in tasks)


# ---- the done-when: too small for two task sets --------------------------------
@pytest.fixture(scope="module")
def shipped():
    sc = ecsnetsim.load_scenario(SCENARIOS / "deploy-blue-green.yaml")
    return sc, ecsnetsim.simulate(sc)


def test_blue_green_stalls_on_enis_where_a_rolling_update_completes(shipped):
    sc, res = shipped
    rolling, bg = deployment(res, "rolling"), deployment(res, "blue-green")
    assert rolling["status"] == "COMPLETED" and rolling["finished_at"] is not None
    assert bg["status"] == "STALLED" and bg["finished_at"] is None
    assert bg["failures"]["RESOURCE:ENI"] == sc.services[0].desired_count  # the whole set
    assert bg["controller"] == "CODE_DEPLOY" and bg["traffic_shift"] == []
    assert "controller" not in rolling  # a rolling update's row is as before
    v = res.variant("blue-green")
    svc = v["placement"]["services"][0]
    assert svc["pending"] == sc.services[0].desired_count and "RESOURCE:ENI" in svc["failures"]
    messages = [e["message"] for e in v["placement"]["events"]]
    assert any('encountered error "RESOURCE:ENI"' in m for m in messages)
    assert any(m.endswith("is STALLED: RESOURCE:ENI.") for m in messages)
    # the original set keeps serving: no traffic moved, nothing unreachable
    assert bg["min_healthy_observed"] == sc.services[0].desired_count
    assert v["flows"][0]["unreachable"] == 0 and v["flows"][0]["delivered"] > 0


def test_blue_green_stalls_on_a_static_port_where_a_rolling_update_completes():
    """Bridge tasks on host port 80, one per instance: the replacement set needs a second
    port 80 on every instance (RESOURCE:PORTS); a rolling update at 50 % frees one first."""
    rolling = cluster(2, "bridge", port={"container_port": 80, "host_port": 80},
                      deployment={"minimum_healthy_percent": 50, "maximum_percent": 100})
    bg = cluster(2, "bridge", port={"container_port": 80, "host_port": 80},
                 **code_deploy())
    for sc, status in ((rolling, "COMPLETED"), (bg, "STALLED")):
        dep = deployment(ecsnetsim.simulate(ecsnetsim.load_scenario(sc)))
        assert dep["status"] == status
    assert deployment(ecsnetsim.simulate(ecsnetsim.load_scenario(bg)))["failures"] == {
        "RESOURCE:PORTS": 2}


def test_the_replacement_set_is_full_size_whatever_the_percentages():
    """maximumPercent 100 keeps a rolling update at the desired count; the replacement task
    set doubles the service's tasks (and task ENIs) whatever it says."""
    pct = {"minimum_healthy_percent": 50, "maximum_percent": 100}
    peaks = {}
    for name, svc in (("rolling", {"deployment": pct}),
                      ("blue/green", {"deployment": pct, **code_deploy()})):
        res = ecsnetsim.simulate(ecsnetsim.load_scenario(cluster(4, **svc)))
        assert deployment(res)["status"] == "COMPLETED"
        peaks[name] = max(p["running_old"] + p["running_new"] for p in res.variants[0]["timeline"])
    assert peaks == {"rolling": 2, "blue/green": 4}  # desired 2


# ---- the traffic shift ----------------------------------------------------------------
def shifted_run(lb_type: str, arrival: str, **shift):
    sc = cluster(4, **code_deploy(traffic_shift=shift, termination_wait="1min"))
    sc["load_balancers"][0]["type"] = lb_type
    sc["traffic"] = [{"name": "in", "from": "client", "to": "api", "via": "front",
                      "rate": "100/s", "arrival": arrival}]
    return ecsnetsim.simulate(ecsnetsim.load_scenario(sc))


@pytest.mark.parametrize("lb_type,arrival,tolerance", [("alb", "constant", 0.002),
                                                       ("nlb", "poisson", 0.03)])
def test_shift_proportions_measured_from_delivered_packets(lb_type, arrival, tolerance):
    """Linear 25 % every 40 s: each step's share of the traffic reaches the replacement
    set; the packets each set's tasks received add up to the shares over time."""
    res = shifted_run(lb_type, arrival, type="linear", percent=25, interval="40s")
    dep = deployment(res)
    steps = [(p["t"], p["percent"]) for p in dep["traffic_shift"]]
    assert [p for _t, p in steps] == [25, 50, 75, 100]
    t0 = steps[0][0]
    assert [t - t0 for t, _p in steps] == [0, 40, 80, 120]
    v = res.variants[0]
    start, end = v["steady_at"], v["end"]
    bounds = [start] + [t for t, _ in steps] + [end]
    shares = [0] + [p for _t, p in steps]
    green_s = sum((b - a) * p / 100
                  for a, b, p in zip(bounds, bounds[1:], shares, strict=False))
    blue, green = task_sets(res)
    got_blue, got_green = delivered_to(res, blue), delivered_to(res, green)
    total = got_blue + got_green
    assert total == v["flows"][0]["delivered"]
    assert got_green / total == pytest.approx(green_s / (end - start), abs=tolerance)


def test_canary_then_the_rest():
    """Canary 20 % for 90 s: a flow sent only inside the canary window reaches the
    replacement set with 20 % of its packets (ALB: in turn, so exactly)."""
    first = shifted_run("alb", "constant", type="canary", percent=20, interval="90s")
    (t1, p1), (t2, p2) = [(p["t"], p["percent"]) for p in deployment(first)["traffic_shift"]]
    assert (p1, p2, t2 - t1) == (20, 100, 90)
    sc = cluster(4, **code_deploy(traffic_shift={"type": "canary", "percent": 20,
                                                 "interval": "90s"}))
    sc["traffic"] = [{"name": "canary", "from": "client", "to": "api", "via": "front",
                      "rate": "200/s", "arrival": "constant", "start": t1 + 1,
                      "stop": t2 - 1}]
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(sc))
    blue, green = task_sets(res)
    got_blue, got_green = delivered_to(res, blue), delivered_to(res, green)
    assert got_green / (got_blue + got_green) == pytest.approx(0.20, abs=0.002)


def test_termination_wait_on_the_timeline():
    """After the last step the original set runs on for termination_wait, then drains for
    the deregistration delay and stops: the deployment completes that much later."""
    finished = {}
    for wait in (0, 150):
        sc = cluster(4, **code_deploy(termination_wait=f"{wait}s"))
        res = ecsnetsim.simulate(ecsnetsim.load_scenario(sc))
        dep = deployment(res)
        (last,) = dep["traffic_shift"]  # all at once
        assert dep["original_terminated_at"] == pytest.approx(last["t"] + wait)
        rows = res.variants[0]["timeline"]
        drain = sc["services"][0]["deregistration_delay"]
        # the original set stays whole until the wait is over, drains, then is gone
        before = [p for p in rows if last["t"] <= p["t"] < last["t"] + wait]
        assert all(p["running_old"] == 2 and p["draining"] == 0 for p in before)
        drains = next(p for p in rows if p["t"] >= last["t"] and p["running_old"] == 0)
        assert drains["t"] == pytest.approx(last["t"] + wait) and drains["draining"] == 2
        gone = next(p["t"] for p in rows if p["t"] > drains["t"] and p["draining"] == 0)
        assert gone == pytest.approx(last["t"] + wait + float(drain.rstrip("s")))
        assert dep["finished_at"] == pytest.approx(gone)
        finished[wait] = dep["finished_at"] - dep["started_at"]
    assert finished[150] - finished[0] == pytest.approx(150)


def test_test_listener_reaches_only_the_replacement_set():
    """A flow on the test listener during a deployment goes to the replacement set's
    healthy tasks, none to the original set; production traffic is not shifted yet."""
    sc = cluster(4, **code_deploy(traffic_shift={"type": "canary", "percent": 10,
                                                 "interval": "15min"},
                                  test_listener_port=8443))
    sc["traffic"] = [{"name": "test", "from": "client", "to": "api", "via": "front",
                      "listener_port": 8443, "rate": "100/s", "start": "60s"}]
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(sc))
    blue, green = task_sets(res)
    assert delivered_to(res, blue) == 0 and delivered_to(res, green) > 0
    flow = res.variants[0]["flows"][0]
    # sent before a replacement task was healthy: no target on the test listener
    assert flow["unreachable"] > 0 and flow["delivered"] == delivered_to(res, green)


# ---- the format ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CODEDEPLOY_ECS_CONFIGS))
def test_predefined_configurations_read_as_their_names_say(name):
    svc = make_scenario()["services"][0]
    sc = cluster(2, **code_deploy(traffic_shift=name))
    shift = ecsnetsim.load_scenario(sc).services[0].blue_green.traffic_shift
    m = re.search(r"ECS(Canary|Linear)(\d+)Percent(?:Every)?(\d+)Minutes", name)
    if m is None:
        assert name.endswith("AllAtOnce") and shift.type == "all_at_once"
    else:
        assert (shift.type, shift.percent, shift.interval) == (
            m.group(1).lower(), int(m.group(2)), int(m.group(3)) * 60)
    assert svc  # the base scenario is untouched


@pytest.mark.parametrize("svc,path,words", [
    (code_deploy(traffic_shift="CodeDeployDefault.ECSCanary50Percent1Minutes"),
     "services[0].blue_green.traffic_shift", "CodeDeployDefault.ECSAllAtOnce"),
    (code_deploy(traffic_shift={"type": "linear", "percent": 10}),
     "services[0].blue_green.traffic_shift", "linear needs percent and interval"),
    ({"blue_green": {"termination_wait": "5min"}}, "services[0]",
     "blue_green applies to deployment_controller: CODE_DEPLOY"),
    ({**code_deploy(), "load_balancer": None}, "services[0]",
     "CODE_DEPLOY needs a load balancer"),
    ({**code_deploy(), "load_balancer": None, "load_balancers": [
        {"load_balancer": "front", "container_port": 8080},
        {"load_balancer": "front", "container_port": 8080, "target_group": "b"}]},
     "services[0]", "several target groups are supported only with the ECS deployment"),
    (code_deploy(termination_wait="3000min"), "services[0].blue_green.termination_wait",
     "2880"),
])
def test_invalid_blue_green_settings_exit_2(capsys, tmp_path, svc, path, words):
    import yaml

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(cluster(2, **svc)))
    rc, _out, err = run_cli(capsys, "validate", f)
    assert rc == 2, err
    assert path in err and words in err and "Traceback" not in err


def test_the_summary_says_each_step_and_the_deletion(capsys, tmp_path):
    import json

    import yaml

    sc = cluster(4, **code_deploy(traffic_shift="CodeDeployDefault.ECSCanary10Percent5Minutes",
                                  termination_wait="1min"))
    sc["duration"] = "12min"
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc))
    rc, out, err = run_cli(capsys, "run", f, "-o", tmp_path / "r")
    assert rc == 0, err
    (dep,) = json.loads((tmp_path / "r" / "results.json").read_text())["variants"][0][
        "deployments"]
    (a, b) = dep["traffic_shift"]
    assert (a["percent"], b["percent"], b["t"] - a["t"]) == (10, 100, 300)
    assert (f"blue/green: traffic to the replacement set: 10% at {a['t']:.0f}s, 100% at "
            f"{b['t']:.0f}s; original task set deleted at {b['t'] + 60:.0f}s") in out
    rc, out, err = run_cli(capsys, "run", SCENARIOS / "deploy-blue-green.yaml", "-o",
                           tmp_path / "stalled")
    assert "blue/green: no traffic shifted" in out
