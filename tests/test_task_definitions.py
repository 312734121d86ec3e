"""Whole task definitions: port ranges, runtimePlatform, requiresCompatibilities, links,
INACTIVE revisions, the Windows default mode; each imported as ECS reads it and placed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_scenario

from ecsnetsim import ScenarioError, load_scenario, simulate
from ecsnetsim.cli import main
from ecsnetsim.scenario import source_of

DATA = Path(__file__).resolve().parent / "data"


def _with_td(tmp_path: Path, name: str, groups: list[dict], desired: int = 2) -> Path:
    shutil.copy(DATA / name, tmp_path / name)
    text = f"""\
version: 1
name: td
duration: 0
vpc:
  subnets:
    - {{name: a, cidr: 10.0.0.0/24}}
cluster:
  instance_groups: {groups!r}
services:
  - name: svc
    desired_count: {desired}
    task_definition: {name}
"""
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace("'", '"'))
    return path


def test_game_server_with_a_udp_port_range_imports_whole(tmp_path):
    path = _with_td(tmp_path, "taskdef_gameserver.json",
                    [{"name": "arm", "type": "m6g.large", "count": 1, "subnet": "a"}])
    svc = load_scenario(path).services[0]
    assert svc.runtime_platform.cpu_architecture == "ARM64"
    assert svc.requires_compatibilities == ["EC2"]
    first = svc.containers[0]
    assert first.links == ["metrics"]
    assert (first.port_mappings[0].container_port_range, first.port_mappings[0].protocol) == (
        "7000-7009", "udp")


def test_a_port_range_takes_one_contiguous_dynamic_host_port_per_port(tmp_path):
    path = _with_td(tmp_path, "taskdef_gameserver.json",
                    [{"name": "arm", "type": "m6g.large", "count": 1, "subnet": "a"}])
    inst = simulate(load_scenario(path), workers=1).variants[0]["placement"]["instances"][0]
    # two tasks, each: 10 UDP ports of the range and one TCP port for admin
    assert inst["tasks"] == 2
    assert inst["ports"]["dynamic_used"] == 2 * (10 + 1)


def test_port_range_blocks_are_contiguous_and_fail_with_the_agents_reason():
    # 25 ports with one reserved in the middle: after one block of 10, 14 are free but
    # the longest run is 9
    agent = {"dynamic_port_range": "50000-50024", "reserved_ports_udp": [50015]}
    sc = make_scenario(
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1,
                                      "subnet": "a", "agent": agent}]},
        services=[{"name": "s", "desired_count": 2, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port_range": "7000-7009", "protocol": "udp"}]}]}])
    res = simulate(sc, workers=1)
    svc = res.variants[0]["placement"]["services"][0]
    assert (svc["running"], svc["failures"]) == (1, {"RESOURCE:PORTS": 1})
    (unplaced,) = res.variants[0]["placement"]["unplaced"]
    assert "10 contiguous host ports unavailable" in next(iter(unplaced["why_not"].values()))


def test_an_awsvpc_port_range_holds_no_host_port():
    sc = make_scenario(services=[{
        "name": "s", "desired_count": 2, "network_mode": "awsvpc", "cpu": 0, "memory": 1,
        "containers": [{"name": "c", "port_mappings": [{"container_port_range": "7000-7099"}]}]}])
    inst = simulate(sc, workers=1).variants[0]["placement"]["instances"][0]
    assert inst["tasks"] == 2 and inst["ports"]["dynamic_used"] == 0
    assert inst["ports"]["static"] == []


def test_arm64_task_needs_an_arm64_instance_with_ecs_reason(tmp_path):
    path = _with_td(tmp_path, "taskdef_gameserver.json",
                    [{"name": "x86", "type": "m5.large", "count": 2, "subnet": "a"}])
    res = simulate(load_scenario(path), workers=1)
    svc = res.variants[0]["placement"]["services"][0]
    assert (svc["running"], svc["failures"]) == (0, {"ATTRIBUTE": 2})
    why = res.variants[0]["placement"]["unplaced"][0]["why_not"]
    assert len(why) == 2 and all("ecs.cpu-architecture is x86_64" in r for r in why.values())


def test_windows_task_definition_without_network_mode_is_default_and_inactive_warns(
        tmp_path, capsys):
    path = _with_td(tmp_path, "taskdef_windows_iis.json",
                    [{"name": "win", "type": "m5.large", "count": 1, "os": "windows",
                      "subnet": "a"}])
    sc = load_scenario(path)
    assert sc.services[0].network_mode == "default"
    assert any("INACTIVE" in w and "iis:2" in w for w in source_of(sc).warnings)
    assert main(["validate", str(path)]) == 0
    assert "warning" in capsys.readouterr().err
    res = simulate(sc, workers=1)
    inst = res.variants[0]["placement"]["instances"][0]
    # a static hostPort: one copy per instance
    assert res.variants[0]["placement"]["services"][0]["running"] == 1
    assert inst["ports"]["static"] == ["8080/tcp"]


@pytest.mark.parametrize("mode", ["bridge", "host", "none"])
def test_windows_runtime_platform_with_a_linux_only_mode_is_invalid(mode):
    sc = make_scenario(services=[{
        "name": "s", "network_mode": mode, "cpu": 0, "memory": 1,
        "runtime_platform": {"operating_system_family": "WINDOWS_SERVER_2019_FULL"}}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert err.value.path == "services[0].network_mode"
    assert "Windows tasks on EC2 only supports network mode 'awsvpc' or 'default'" in \
        err.value.message


@pytest.mark.parametrize("mode", ["awsvpc", "host", "none"])
def test_links_only_in_bridge(mode):
    sc = make_scenario(services=[{
        "name": "s", "network_mode": mode, "cpu": 0, "memory": 1,
        "containers": [{"name": "a", "links": ["b"]}, {"name": "b"}]}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert err.value.path == "services[0].containers[0].links"
    assert f"links are not supported when networkMode is '{mode}'" in err.value.message


def test_port_range_in_host_mode_is_invalid():
    sc = make_scenario(services=[{
        "name": "s", "network_mode": "host", "cpu": 0, "memory": 1,
        "containers": [{"name": "a", "port_mappings": [{"container_port_range": "1-9"}]}]}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert err.value.path == "services[0].containers[0].port_mappings[0].container_port_range"


@pytest.mark.parametrize("pm, fragment", [
    ({"container_port_range": "9-1"}, "start < end"),
    ({"container_port_range": "70"}, "start-end"),
    ({"container_port_range": "1-9", "host_port": 80}, "takes no hostPort"),
    ({"container_port": 80, "container_port_range": "1-9"}, "exactly one"),
    ({}, "exactly one"),
])
def test_port_range_field_errors(pm, fragment):
    sc = make_scenario(services=[{"name": "s", "cpu": 0, "memory": 1, "containers": [
        {"name": "a", "port_mappings": [pm]}]}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert fragment in err.value.message
    assert err.value.path.startswith("services[0].containers[0].port_mappings[0]")


def test_requires_compatibilities_must_include_the_launch_type():
    sc = make_scenario(services=[{"name": "s", "network_mode": "awsvpc", "cpu": 256,
                                  "memory": 512, "launch_type": "EC2",
                                  "requires_compatibilities": ["FARGATE"]}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert err.value.path == "services[0].launch_type"
    assert "Task definition does not support launch_type EC2" in err.value.message


@pytest.mark.parametrize("event, path, fragment", [
    ({"at": 5, "deploy": "s", "set": {"network_mode": "host", "launch_type": "FARGATE"}},
     "events[0].set.network_mode", "Fargate only supports network mode 'awsvpc'"),
    ({"at": 5, "deploy": "s", "set": {"network_mode": "none", "containers": [
        {"name": "c", "port_mappings": [{"container_port": 80}]}]}},
     "events[0].set.containers", "port mappings are not supported"),
    ({"at": 5, "scale": "s", "desired_count": 10000000},
     "events[0].desired_count", "must be at most 100000"),
])
def test_events_pass_the_same_checks_as_the_services_they_change(event, path, fragment):
    with pytest.raises(ScenarioError) as err:
        load_scenario(make_scenario(events=[event]))
    assert err.value.path == path and fragment in err.value.message


def test_a_run_always_ends_traffic_starts_at_the_steady_horizon(capsys):
    """A service still starting at the horizon does not hold the run forever: traffic
    starts there and the summary says so."""
    from ecsnetsim.report import summary

    sc = make_scenario(steady_horizon=3, duration=1, services=[
        {"name": "s", "desired_count": 1, "network_mode": "awsvpc", "cpu": 0, "memory": 1}])
    res = simulate(sc, workers=1)
    v = res.variants[0]
    assert (v["steady"], v["steady_at"], v["end"]) == (False, 3.0, 4.0)
    assert "never settled: traffic from the horizon at 3.0s" in summary(res)
    settled = simulate(make_scenario(services=sc["services"], duration=1), workers=1)
    assert settled.variants[0]["steady"] is True


@pytest.mark.parametrize("change, path, fragment", [
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"},
                          {"name": "b", "cidr": "10.0.0.0/25"}]}},
     "vpc.subnets[1].cidr", "overlaps subnet 'a'"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/28", "reserved_ips": 20}]}},
     "vpc.subnets[0].reserved_ips", "has 11 usable addresses"),
    ({"services": [{"name": "s", "cpu": 0, "memory": 1,
                    "containers": [{"name": "c"}, {"name": "c"}]}]},
     "services[0].containers[1].name", "two containers of a task are named 'c'"),
    ({"services": [{"name": "s", "cpu": 0, "memory": 1, "containers": [
        {"name": "c", "port_mappings": [{"container_port": 80, "host_port": 80}]},
        {"name": "d", "port_mappings": [{"container_port": 81, "host_port": 80}]}]}]},
     "services[0].containers[1].port_mappings[0]", "host port 80/tcp is mapped twice"),
])
def test_nonsense_that_aws_would_refuse_is_refused(change, path, fragment):
    with pytest.raises(ScenarioError) as err:
        load_scenario(make_scenario(**change))
    assert err.value.path == path and fragment in err.value.message
