"""What a task definition means by what it leaves out, as ECS reads it.

* A container without ``cpu`` reserves 0 CPU units, so a task with no ``cpu`` anywhere
  reserves none (ECS API reference, Container.cpu: "The value will be 0 if no value was
  specified in the container definition when the task definition was registered"; the
  instance's CPU is then no limit, only its memory, ports and ENIs).
* A task definition without ``networkMode`` (and without ``runtimePlatform``, as Windows
  task definitions were written before it existed) runs in its host's default mode:
  ``bridge`` on Linux, ``default`` on Windows (ECS Developer Guide, "Amazon ECS task
  networking options for the EC2 launch type"; ECS API reference,
  RegisterTaskDefinition ``networkMode``: on Windows instances "``<default>`` or awsvpc"),
  so on Windows instances it places, in ``default``.
"""

from __future__ import annotations

import json

import pytest
from conftest import make_scenario, run_cli

import ecsnetsim
from ecsnetsim.scenario import load_scenario

NO_CPU = {"family": "worker", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128}]}
#: A Windows task definition as written before runtimePlatform (the ECS guide's IIS
#: sample): no networkMode, no runtimePlatform.
IIS = {"family": "windows-simple-iis", "containerDefinitions": [
    {"name": "iis", "image": "mcr.microsoft.com/windows/servercore/iis", "cpu": 512,
     "memory": 512, "essential": True,
     "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}]}]}


def _with_td(tmp_path, td: dict, groups: list[dict], **svc) -> dict:
    path = tmp_path / "td.json"
    path.write_text(json.dumps(td))
    doc = make_scenario(cluster={"instance_groups": groups})
    doc["services"] = [{"name": "s", "task_definition": str(path), **svc}]
    return doc


def _group(name: str, type_: str = "c5.large", count: int = 1, os: str = "linux") -> dict:
    return {"name": name, "type": type_, "count": count, "subnet": "a", "os": os}


def test_a_container_without_cpu_reserves_none(tmp_path):
    """The issue's numbers: 20 tasks of 128 MiB and no cpu on two c5.large (2048 CPU
    units each) all place; at 256 units each only 16 would."""
    doc = _with_td(tmp_path, NO_CPU, [_group("g", count=2)], desired_count=20)
    sc = load_scenario(doc)
    assert sc.services[0].cpu == 0
    (v,) = ecsnetsim.simulate(sc, seed=1, workers=1).variants
    svc = v["placement"]["services"][0]
    assert (svc["running"], svc["failures"]) == (20, {})
    assert [i["cpu"]["used"] for i in v["placement"]["instances"]] == [0, 0]
    # the same task with cpu 256 per container: CPU binds at 8 per instance
    with_cpu = json.loads(json.dumps(NO_CPU))
    with_cpu["containerDefinitions"][0]["cpu"] = 256
    (v,) = ecsnetsim.simulate(_with_td(tmp_path, with_cpu, [_group("g", count=2)],
                                       desired_count=20), seed=1, workers=1).variants
    assert v["placement"]["services"][0]["running"] == 16
    assert v["placement"]["services"][0]["failures"] == {"RESOURCE:CPU": 4}


def test_containers_cpu_are_summed_and_a_scenario_service_keeps_its_default(tmp_path):
    two = json.loads(json.dumps(NO_CPU))
    two["containerDefinitions"].append({"name": "side", "image": "busybox", "memory": 64,
                                        "cpu": 100})
    assert load_scenario(_with_td(tmp_path, two, [_group("g")])).services[0].cpu == 100
    # a service written in the scenario (not a task definition) keeps the format's 256
    doc = make_scenario()
    del doc["services"][0]["cpu"]
    assert load_scenario(doc).services[0].cpu == 256


@pytest.mark.parametrize("groups, mode", [
    ([_group("win", "m5.large", 2, "windows")], "default"),
    ([_group("lin")], "bridge"),
    ([_group("lin"), _group("win", "m5.large", 2, "windows")], "bridge"),
])
def test_no_network_mode_is_the_hosts_default(tmp_path, groups, mode):
    doc = _with_td(tmp_path, IIS, groups, desired_count=2)
    assert load_scenario(doc).services[0].network_mode == mode


def test_a_windows_task_definition_without_network_mode_places_on_windows(tmp_path):
    doc = _with_td(tmp_path, IIS, [_group("win", "m5.large", 2, "windows")], desired_count=2)
    (v,) = ecsnetsim.simulate(doc, seed=1, workers=1).variants
    svc = v["placement"]["services"][0]
    assert (svc["network_mode"], svc["running"], svc["failures"]) == ("default", 2, {})
    assert [(i["os"], i["tasks"]) for i in v["placement"]["instances"]] == [("windows", 1)] * 2


def test_member_of_windows_in_a_mixed_cluster_means_default(tmp_path):
    td = {**IIS, "placementConstraints": [
        {"type": "memberOf", "expression": "attribute:ecs.os-type == windows"}]}
    groups = [_group("lin", count=2), _group("win", "m5.large", 1, "windows")]
    doc = _with_td(tmp_path, td, groups, desired_count=1)
    (v,) = ecsnetsim.simulate(doc, seed=1, workers=1).variants
    svc = v["placement"]["services"][0]
    assert (svc["network_mode"], svc["running"]) == ("default", 1)


def test_a_named_network_mode_or_runtime_platform_is_kept(tmp_path):
    groups = [_group("win", "m5.large", 1, "windows")]
    iis = json.loads(json.dumps(IIS))
    del iis["containerDefinitions"][0]["portMappings"][0]["hostPort"]
    doc = _with_td(tmp_path, {**iis, "networkMode": "awsvpc"}, groups)
    assert load_scenario(doc).services[0].network_mode == "awsvpc"
    doc = _with_td(tmp_path, iis, groups, network_mode="awsvpc")
    assert load_scenario(doc).services[0].network_mode == "awsvpc"
    platform = {"operatingSystemFamily": "LINUX"}
    doc = _with_td(tmp_path, {**iis, "runtimePlatform": platform}, groups)
    assert load_scenario(doc).services[0].network_mode == "bridge"


def test_cli_runs_the_windows_task_definition(capsys, tmp_path):
    (tmp_path / "iis.json").write_text(json.dumps(IIS))
    doc = make_scenario(cluster={"instance_groups": [_group("win", "m5.large", 1, "windows")]})
    doc["services"] = [{"name": "iis", "desired_count": 1, "task_definition": "iis.json"}]
    (tmp_path / "s.yaml").write_text(json.dumps(doc))
    rc, _, err = run_cli(capsys, "run", tmp_path / "s.yaml", "-o", tmp_path / "out",
                         "--no-plots", "--quiet")
    assert rc == 0, err
    v = json.loads((tmp_path / "out" / "results.json").read_text())["variants"][0]
    assert v["placement"]["services"][0]["running"] == 1


def test_a_scenario_service_without_network_mode_follows_the_same_rule():
    """A service written in the scenario with neither network_mode nor runtime_platform
    is a task definition that names neither: default on a cluster of Windows instances,
    bridge otherwise (and a named mode is kept)."""
    doc = make_scenario(cluster={"instance_groups": [_group("win", "m5.large", 1, "windows")]})
    del doc["services"][0]["network_mode"]
    assert load_scenario(doc).services[0].network_mode == "default"
    doc["cluster"]["instance_groups"][0]["os"] = "linux"
    assert load_scenario(doc).services[0].network_mode == "bridge"
