"""Capacity provider strategies: base first, then weight (ECS API reference,
CapacityProviderStrategyItem), managed scaling of Auto Scaling group providers toward
their target CapacityProviderReservation, Fargate Spot interruptions with the two-minute
warning, and what AWS refuses, each with its field, line and exit status 2."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT, SCENARIOS, make_scenario, run_cli

from ecsnetsim import ScenarioError, load_scenario, simulate

TWO_AZ = {"subnets": [{"name": "a", "cidr": "10.0.0.0/22", "az": "us-east-1a"},
                      {"name": "b", "cidr": "10.0.4.0/22", "az": "us-east-1b"}]}


def _fargate_service(desired: int, strategy: list[dict], **extra) -> dict:
    return {"name": "web", "desired_count": desired, "network_mode": "awsvpc", "cpu": 256,
            "memory": 512, "capacity_provider_strategy": strategy, **extra}


def _fargate_run(desired: int, strategy: list[dict], **extra) -> dict:
    sc = make_scenario(vpc=TWO_AZ, cluster={"capacity_providers": ["FARGATE", "FARGATE_SPOT"]},
                       services=[_fargate_service(desired, strategy)], **extra)
    return simulate(sc, workers=1).variants[0]["placement"]


def _split(desired: int, strategy: list[dict]) -> dict:
    (svc,) = _fargate_run(desired, strategy)["services"]
    assert svc["running"] == desired
    return svc["capacity_providers"]


# ---- base and weight, as AWS's documented examples ------------------------------------
def test_equal_weights_split_evenly():
    """"two capacity providers both with weight 1 will split tasks evenly"."""
    assert _split(10, [{"capacity_provider": "FARGATE", "weight": 1},
                       {"capacity_provider": "FARGATE_SPOT", "weight": 1}]) == \
        {"FARGATE": 5, "FARGATE_SPOT": 5}


def test_weights_one_and_four_put_four_on_the_second_for_every_one():
    """"if you specify a weight of 1 for capacityProviderA and a weight of 4 for
    capacityProviderB, then for every one task that's run using capacityProviderA, four
    tasks would use capacityProviderB"."""
    assert _split(10, [{"capacity_provider": "FARGATE", "weight": 1},
                       {"capacity_provider": "FARGATE_SPOT", "weight": 4}]) == \
        {"FARGATE": 2, "FARGATE_SPOT": 8}


def test_base_first_then_the_rest_by_weight():
    """The base is met first, the weights share only the tasks beyond it: base 2 weight 1
    beside weight 3, 10 tasks: 2 + 2 on FARGATE, 6 on FARGATE_SPOT."""
    assert _split(10, [{"capacity_provider": "FARGATE", "base": 2, "weight": 1},
                       {"capacity_provider": "FARGATE_SPOT", "weight": 3}]) == \
        {"FARGATE": 4, "FARGATE_SPOT": 6}


def test_fewer_tasks_than_the_base_all_go_to_the_base_provider():
    assert _split(3, [{"capacity_provider": "FARGATE_SPOT", "weight": 9},
                      {"capacity_provider": "FARGATE", "base": 5, "weight": 1}]) == \
        {"FARGATE": 3}


def test_a_weight_of_zero_takes_nothing_beyond_its_base():
    """"any capacity providers with a weight of 0 can't be used to place tasks"."""
    assert _split(6, [{"capacity_provider": "FARGATE", "base": 1},
                      {"capacity_provider": "FARGATE_SPOT", "weight": 1}]) == \
        {"FARGATE": 1, "FARGATE_SPOT": 5}


def test_the_cluster_default_strategy_applies_without_launch_type():
    """CreateService: with neither launchType nor capacityProviderStrategy, the cluster's
    default strategy is used; a service that names its launch type keeps it."""
    sc = make_scenario(
        vpc=TWO_AZ, cluster={"capacity_providers": ["FARGATE", "FARGATE_SPOT"],
                             "default_capacity_provider_strategy": [
                                 {"capacity_provider": "FARGATE_SPOT", "weight": 1}]},
        services=[{"name": "web", "desired_count": 3, "network_mode": "awsvpc",
                   "cpu": 256, "memory": 512},
                  {"name": "api", "desired_count": 2, "network_mode": "awsvpc",
                   "launch_type": "FARGATE", "cpu": 256, "memory": 512}])
    web, api = simulate(sc, workers=1).variants[0]["placement"]["services"]
    assert (web["launch_type"], web["capacity_providers"]) == ("FARGATE", {"FARGATE_SPOT": 3})
    assert api["launch_type"] == "FARGATE" and "capacity_providers" not in api


# ---- Auto Scaling group providers and managed scaling -------------------------------------
def _asg_scenario(target: int = 100, desired: int = 12, count: int = 1) -> dict:
    return make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/22", "az": "us-east-1a"}]},
        cluster={
            "instance_groups": [
                {"name": "ondemand", "type": "c5.large", "count": count,
                 "scaling": {"max": 20, "launch_delay": "90s"}},
                {"name": "spot", "type": "c5.large", "count": 0,
                 "scaling": {"max": 20, "launch_delay": "90s"}}],
            "capacity_providers": [
                {"name": "od", "instance_group": "ondemand",
                 "managed_scaling": {"target_capacity": target}},
                {"name": "sp", "instance_group": "spot",
                 "managed_scaling": {"target_capacity": target}}]},
        services=[{"name": "api", "desired_count": desired, "network_mode": "awsvpc",
                   "cpu": 256, "memory": 512, "capacity_provider_strategy": [
                       {"capacity_provider": "od", "base": 2, "weight": 1},
                       {"capacity_provider": "sp", "weight": 1}]}])


def _groups(placement: dict) -> dict:
    out: dict = {}
    for inst in placement["instances"]:
        out.setdefault(inst["group"], []).append(inst["tasks"])
    return out


def test_asg_providers_place_only_on_their_group_and_scale_to_the_target():
    """12 awsvpc tasks, 2 per c5.large (no trunking): od takes its base 2 and half the
    rest (7), sp 5. Managed scaling launches what each provider's tasks need at once
    (od: 3 more instances, sp: 3 from zero), and every task runs after one launch delay."""
    p = simulate(_asg_scenario(), workers=1).variants[0]["placement"]
    (svc,) = p["services"]
    assert svc["running"] == 12 and svc["capacity_providers"] == {"od": 7, "sp": 5}
    groups = _groups(p)
    assert sum(groups["ondemand"]) == 7 and sum(groups["spot"]) == 5
    assert (len(groups["ondemand"]), len(groups["spot"])) == (4, 3)
    launches = [e for e in p["events"] if e.get("kind") == "launch"]
    assert [(e["t"], e["instances"]) for e in launches] == [(0, 3), (0, 3)]
    assert "CapacityProviderReservation 400% against target 100%" in launches[0]["message"]
    assert "CapacityProviderReservation 200%" in launches[1]["message"]  # from zero
    assert svc["steady_at"] < 100  # 90 s launch, then the tasks start


def test_a_lower_target_capacity_keeps_spare_instances():
    """target_capacity 50: the groups grow to twice the instances the tasks need (M / N x
    100 = 50), so half of the new instances stay empty."""
    p = simulate(_asg_scenario(target=50), workers=1).variants[0]["placement"]
    groups = _groups(p)
    assert p["services"][0]["running"] == 12
    # od: 4 needed (1 running + 3) -> 8; sp: 3 needed -> 6
    assert (len(groups["ondemand"]), len(groups["spot"])) == (8, 6)
    assert sum(1 for n in groups["ondemand"] + groups["spot"] if n == 0) > 0


def test_scaling_step_sizes_bound_a_scale_out():
    """maximum_scaling_step_size 1: one instance per scale-out; the 6 instances come in
    single steps, the last ones a launch delay after the first (the model looks again
    whenever tasks wait, not once a minute as CloudWatch's alarm does)."""
    sc = _asg_scenario()
    for cp in sc["cluster"]["capacity_providers"]:
        cp["managed_scaling"]["maximum_scaling_step_size"] = 1
    p = simulate(sc, workers=1).variants[0]["placement"]
    launches = [(e["t"], e["instances"]) for e in p["events"] if e.get("kind") == "launch"]
    assert all(n == 1 for _, n in launches) and len(launches) == 6
    assert p["services"][0]["running"] == 12
    assert p["services"][0]["steady_at"] > 2 * 90


def test_without_managed_scaling_the_group_keeps_its_size():
    sc = _asg_scenario()
    for cp in sc["cluster"]["capacity_providers"]:
        del cp["managed_scaling"]
    p = simulate(sc, workers=1).variants[0]["placement"]
    assert p["services"][0]["running"] == 2  # od's one instance: 2 awsvpc tasks
    assert not [e for e in p["events"] if e.get("kind") == "launch"]


# ---- Fargate Spot interruptions -----------------------------------------------------------
def test_a_spot_interruption_warns_stops_after_two_minutes_and_is_replaced_on_spot():
    """The warning at 60 s (SIGTERM); the service replaces the two tasks at once, on
    FARGATE_SPOT again since the split is short there; they stop at 180 s."""
    sc = make_scenario(vpc=TWO_AZ, duration=300,
                       cluster={"capacity_providers": ["FARGATE", "FARGATE_SPOT"]},
                       services=[_fargate_service(10, [
                           {"capacity_provider": "FARGATE", "base": 2, "weight": 1},
                           {"capacity_provider": "FARGATE_SPOT", "weight": 3}])],
                       events=[{"at": 60, "interrupt": {"service": "web", "count": 2}}])
    p = simulate(sc, workers=1).variants[0]["placement"]
    (svc,) = p["services"]
    assert svc["running"] == 10 and svc["capacity_providers"] == {"FARGATE": 4,
                                                                  "FARGATE_SPOT": 6}
    warned = [e for e in p["events"] if "Spot interruption warning" in e["message"]]
    stopped = [e for e in p["events"] if "Your Spot Task was interrupted." in e["message"]]
    assert [e["t"] for e in warned] == [60, 60] and [e["t"] for e in stopped] == [180, 180]
    restarted = [e for e in p["events"] if e["t"] == 60 and "has started 2 tasks" in
                 e["message"]]
    assert restarted, "the service replaces the interrupted tasks at the warning"
    (summary,) = [e for e in p["events"] if e.get("kind") == "spot-interruption"]
    assert summary["instances"] == 2


def test_an_interruption_reaches_spot_tasks_only():
    sc = make_scenario(vpc=TWO_AZ, duration=300,
                       cluster={"capacity_providers": ["FARGATE", "FARGATE_SPOT"]},
                       services=[_fargate_service(5, [
                           {"capacity_provider": "FARGATE", "base": 3, "weight": 1},
                           {"capacity_provider": "FARGATE_SPOT", "weight": 1}])],
                       events=[{"at": 60, "interrupt": {}}])
    p = simulate(sc, workers=1).variants[0]["placement"]
    (summary,) = [e for e in p["events"] if e.get("kind") == "spot-interruption"]
    # 3 on FARGATE (the base), then one each (FARGATE first: listed first among equals)
    assert summary["instances"] == 1


# ---- what AWS refuses ---------------------------------------------------------------------
def _refused(tmp_path, capsys, data: dict) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rc, _out, err = run_cli(capsys, "validate", path)
    assert rc == 2, err
    assert "Traceback" not in err and str(path) in err
    return err


def _with_strategy(strategy: list[dict], **svc) -> dict:
    return make_scenario(vpc=TWO_AZ, cluster={"capacity_providers": ["FARGATE", "FARGATE_SPOT"]},
                         services=[_fargate_service(2, strategy, **svc)])


@pytest.mark.parametrize(("strategy", "where", "words"), [
    ([{"capacity_provider": "FARGATE", "base": 1, "weight": 1},
      {"capacity_provider": "FARGATE_SPOT", "base": 1, "weight": 1}],
     "services[0].capacity_provider_strategy[1].base",
     "only one capacity provider in a capacity provider strategy can have a base defined"),
    ([{"capacity_provider": "FARGATE"}, {"capacity_provider": "FARGATE_SPOT"}],
     "services[0].capacity_provider_strategy",
     "at least one of the capacity providers must have a weight value greater than zero"),
    ([{"capacity_provider": "cp-other", "weight": 1}],
     "services[0].capacity_provider_strategy[0].capacity_provider",
     "cannot contain a capacity provider that is not associated with the cluster"),
])
def test_strategy_rules_refused_with_aws_words(tmp_path, capsys, strategy, where, words):
    err = _refused(tmp_path, capsys, _with_strategy(strategy))
    assert where in err and words in err


def test_base_and_weight_ranges_are_aws_ranges(tmp_path, capsys):
    err = _refused(tmp_path, capsys, _with_strategy(
        [{"capacity_provider": "FARGATE", "weight": 1001}]))
    assert "services[0].capacity_provider_strategy[0].weight" in err and "1000" in err


def test_a_strategy_mixing_fargate_and_asg_providers_is_refused(tmp_path, capsys):
    data = _asg_scenario()
    data["cluster"]["capacity_providers"].append("FARGATE")
    data["services"][0]["capacity_provider_strategy"].append(
        {"capacity_provider": "FARGATE", "weight": 1})
    err = _refused(tmp_path, capsys, data)
    assert "services[0].capacity_provider_strategy" in err and \
        "cannot contain a mix of capacity providers using Auto Scaling groups and Fargate " \
        "providers" in err


def test_launch_type_contradicting_the_strategy_is_refused(tmp_path, capsys):
    err = _refused(tmp_path, capsys, _with_strategy(
        [{"capacity_provider": "FARGATE", "weight": 1}], launch_type="EC2"))
    assert "services[0].launch_type" in err and \
        "the launchType parameter must be omitted" in err


def test_managed_scaling_needs_the_group_maximum(tmp_path, capsys):
    data = _asg_scenario()
    del data["cluster"]["instance_groups"][1]["scaling"]
    err = _refused(tmp_path, capsys, data)
    assert "cluster.capacity_providers[1].managed_scaling" in err and \
        "cluster.instance_groups[1].scaling.max" in err


def test_provider_names_reserved_by_aws(tmp_path, capsys):
    data = _asg_scenario()
    data["cluster"]["capacity_providers"][0]["name"] = "ecs-od"
    data["services"][0]["capacity_provider_strategy"][0]["capacity_provider"] = "ecs-od"
    err = _refused(tmp_path, capsys, data)
    assert "cluster.capacity_providers[0].name" in err and "can't be prefixed" in err


def test_an_interruption_of_a_service_without_spot_is_refused(tmp_path, capsys):
    data = _with_strategy([{"capacity_provider": "FARGATE", "weight": 1}])
    data["duration"] = 100
    data["events"] = [{"at": 10, "interrupt": {"service": "web"}}]
    err = _refused(tmp_path, capsys, data)
    assert "events[0].interrupt.service" in err and "runs no task on FARGATE_SPOT" in err


def test_the_error_names_the_line(tmp_path):
    data = _with_strategy([{"capacity_provider": "FARGATE", "base": 1, "weight": 1},
                           {"capacity_provider": "FARGATE_SPOT", "base": 2, "weight": 1}])
    path = tmp_path / "s.yaml"
    text = yaml.safe_dump(data, sort_keys=False)
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    lines = text.splitlines()
    assert "base: 2" in lines[err.value.line - 1]


def test_an_auto_scaling_group_over_two_subnets_grows_balanced():
    """A provider whose Auto Scaling group spans two subnets (one instance group each):
    8 awsvpc tasks need 4 c5.large from zero, 2 in each AZ, as the group balances them."""
    sc = make_scenario(
        vpc=TWO_AZ,
        cluster={"instance_groups": [
            {"name": "asg-a", "type": "c5.large", "count": 0, "subnet": "a",
             "scaling": {"max": 5, "launch_delay": "60s"}},
            {"name": "asg-b", "type": "c5.large", "count": 0, "subnet": "b",
             "scaling": {"max": 5, "launch_delay": "60s"}}],
            "capacity_providers": [{"name": "cp", "instance_group": ["asg-a", "asg-b"],
                                    "managed_scaling": {}}],
            "default_capacity_provider_strategy": [{"capacity_provider": "cp", "weight": 1}]},
        services=[{"name": "api", "desired_count": 8, "network_mode": "awsvpc", "cpu": 256,
                   "memory": 512}])
    p = simulate(sc, workers=1).variants[0]["placement"]
    assert p["services"][0]["running"] == 8
    groups = _groups(p)
    assert groups == {"asg-a": [2, 2], "asg-b": [2, 2]}
    (launch,) = [e for e in p["events"] if e.get("kind") == "launch"]
    assert launch["instances"] == 4 and "CapacityProviderReservation 200%" in launch["message"]


# ---- imported stacks ----------------------------------------------------------------------
def test_an_imported_stack_keeps_its_strategies_and_providers(capsys, tmp_path):
    """CloudFormation: the Auto Scaling group provider (managed scaling, target 90 %) over
    the ASG's two subnets, the cluster's default strategy for the services that name no
    launch type, the nested stack's FARGATE/FARGATE_SPOT split; the scenario runs."""
    data = ROOT / "tests" / "data" / "import" / "cloudformation"
    out = tmp_path / "stack.yaml"
    rc, _, err = run_cli(capsys, "import", "cloudformation", data / "web-stack.yaml",
                         data / "network.json", "-o", out, "--quiet")
    assert rc == 0, err
    sc = yaml.safe_load(out.read_text())
    providers = {cp["name"]: cp for cp in sc["cluster"]["capacity_providers"]}
    assert providers["CapacityProvider"] == {
        "name": "CapacityProvider", "instance_group": ["Asg-1", "Asg-2"],
        "managed_scaling": {"target_capacity": 90}}
    services = {s["name"]: s for s in sc["services"]}
    assert services["web"]["capacity_provider_strategy"] == [
        {"capacity_provider": "CapacityProvider", "base": 0, "weight": 1}]
    assert "launch_type" not in services["web"]
    rc, _, err = run_cli(capsys, "run", out, "--quiet", "--workers", "1", "-o",
                         tmp_path / "results")
    assert rc == 0, err
    res = json.loads((tmp_path / "results" / "results.json").read_text())
    placed = {s["name"]: s for s in res["variants"][0]["placement"]["services"]}
    assert placed["web"]["capacity_providers"] == {"CapacityProvider": 2}
    worker = placed["worker"]["capacity_providers"]
    assert worker == {"FARGATE": 1, "FARGATE_SPOT": 2}  # base 1, then 1:3 of the other 2


def test_the_shipped_scenario_answers_its_question():
    """scenarios/capacity-providers.yaml: the splits, the two scale-outs, the Spot
    replacements and the external servers, as its Expected: says."""
    p = simulate(load_scenario(SCENARIOS / "capacity-providers.yaml"),
                 workers=1).variants[0]["placement"]
    svc = {s["name"]: s for s in p["services"]}
    assert svc["api"]["capacity_providers"] == {"on-demand": 7, "spot-hosts": 5}
    assert svc["worker"]["capacity_providers"] == {"FARGATE": 4, "FARGATE_SPOT": 6}
    launches = [(e["t"], e["instances"]) for e in p["events"] if e.get("kind") == "launch"]
    assert launches == [(0, 3), (0, 3)]
    assert svc["api"]["last_running_at"] == 96  # 90 s launch, 5 s ENI, 1 s start
    replaced = [e for e in p["events"] if e["t"] == 300 and e["service"] == "worker"
                and "has started 2 tasks" in e["message"]]
    assert replaced
    groups = _groups(p)
    assert sum(groups["onprem"]) == 4 and all(
        i["eni"]["limit"] == 0 for i in p["instances"] if i["group"] == "onprem")


def test_a_provider_without_room_does_not_hold_back_the_others():
    """The on-demand group has room for 2 tasks and no managed scaling; the Spot group
    has room. Of 12 tasks (base 2 on on-demand, then 1:1) on-demand's 5 beyond its base
    wait, while Spot's 5 run: ECS keeps a provider's tasks PROVISIONING, not the others'."""
    sc = _asg_scenario()
    for cp in sc["cluster"]["capacity_providers"]:
        del cp["managed_scaling"]
    sc["cluster"]["instance_groups"][1]["count"] = 3
    p = simulate(sc, workers=1).variants[0]["placement"]
    (svc,) = p["services"]
    assert svc["capacity_providers"] == {"od": 2, "sp": 5}
    assert svc["pending"] == 5
