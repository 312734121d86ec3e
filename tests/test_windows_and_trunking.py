"""Windows container instances and trunk eligibility: the agent's Windows defaults,
registered memory as the ECS guide's example, and a reason on every instance that does
not trunk."""

from __future__ import annotations

import pytest
from conftest import make_scenario

from ecsnetsim import simulate
from ecsnetsim.cli import main


def _instances(sc: dict) -> list[dict]:
    return simulate(sc, workers=1).variants[0]["placement"]["instances"]


def _group(os: str = "linux", type: str = "m4.large", **extra) -> dict:
    return {"cluster": {"instance_groups": [
        {"name": "g", "type": type, "count": 1, "os": os, "subnet": "a", **extra}]}}


@pytest.mark.parametrize("os, registered", [("linux", 7985), ("windows", 8191)])
def test_registered_memory_matches_the_ecs_guides_m4_large_example(os, registered):
    (inst,) = _instances(make_scenario(**_group(os), services=[]))
    assert inst["memory"]["limit"] == registered


def _default_svc(port: int | None = None, desired: int = 1) -> dict:
    pm = {"container_port": 80} if port is None else {"container_port": 80, "host_port": port}
    return {"name": "s", "desired_count": desired, "network_mode": "default", "cpu": 0,
            "memory": 1, "containers": [{"name": "c", "port_mappings": [pm]}]}


@pytest.mark.parametrize("port", [53, 135, 139, 445, 3389, 5985, 5986, 51678])
def test_windows_agent_reserves_its_ports(port):
    sc = make_scenario(**_group("windows"), services=[_default_svc(port)])
    res = simulate(sc, workers=1).variants[0]["placement"]
    assert res["services"][0]["failures"] == {"RESOURCE:PORTS": 1}
    why = next(iter(res["unplaced"][0]["why_not"].values()))
    assert f"host port {port}/tcp is reserved by the agent" in why


def test_windows_dynamic_ports_come_from_49152_to_65535():
    sc = make_scenario(**_group("windows", type="m5.4xlarge"),
                       services=[_default_svc(desired=5)])
    import numpy as np
    import simpy

    from ecsnetsim import load_scenario
    from ecsnetsim.control.scheduler import Cluster

    env = simpy.Environment()
    cluster = Cluster(load_scenario(sc), env, np.random.default_rng(0))
    env.run(until=cluster.steady)
    ports = sorted(p for t in cluster.services[0].running for p in t.binding.host_ports.values())
    assert ports == list(range(49152, 49157))


def test_linux_modes_do_not_place_on_windows_with_the_attribute_reason():
    sc = make_scenario(**_group("windows"), services=[
        {"name": "s", "network_mode": "bridge", "cpu": 0, "memory": 1}])
    res = simulate(sc, workers=1).variants[0]["placement"]
    assert res["services"][0]["failures"] == {"ATTRIBUTE": 1}
    why = next(iter(res["unplaced"][0]["why_not"].values()))
    assert why == "ATTRIBUTE: ecs.os-type is windows; network mode bridge needs linux"


@pytest.mark.parametrize("group, account, trunked, reason", [
    ({"type": "c5.large"}, False, False, "awsvpcTrunking account setting is off"),
    ({"type": "c5.large"}, True, True, "10 branch ENIs (ECS trunking table of 2023-04-18)"),
    ({"type": "c5.large", "os": "windows"}, True, False, "Linux container instances only"),
    ({"type": "c7i.large"}, True, False, "not in ECS's trunking table of 2023-04-18"),
    ({"type": "c7i.large", "trunk_tasks": 10}, True, True, "as the scenario sets"),
    ({"type": "c5.large", "trunk_tasks": 0}, True, False, "trunk_tasks is 0"),
    ({"type": "c5.large", "awsvpc_trunking": False}, True, False,
     "was off when these instances registered"),
    ({"type": "i4i.large"}, True, False, "documentation typo"),
])
def test_every_instance_says_whether_it_trunks_and_why(group, account, trunked, reason):
    os = group.pop("os", "linux")
    sc = make_scenario(**_group(os, **group), account={"awsvpc_trunking": account},
                       services=[])
    (inst,) = _instances(sc)
    assert inst["trunked"] is trunked
    assert reason in inst["trunk_reason"]


def test_trunked_and_untrunked_groups_side_by_side():
    """An instance registered before the account opted in keeps 2 awsvpc tasks; one
    registered after holds 10."""
    sc = make_scenario(account={"awsvpc_trunking": True}, cluster={"instance_groups": [
        {"name": "old", "type": "c5.large", "count": 1, "subnet": "a", "awsvpc_trunking": False},
        {"name": "new", "type": "c5.large", "count": 1, "subnet": "a"}]},
        services=[{"name": "s", "desired_count": 20, "network_mode": "awsvpc", "cpu": 0,
                   "memory": 1, "placement_strategy": [{"type": "binpack", "field": "cpu"}]}])
    res = simulate(sc, workers=1).variants[0]["placement"]
    by_group = {i["group"]: i for i in res["instances"]}
    assert (by_group["old"]["tasks"], by_group["new"]["tasks"]) == (2, 10)
    assert by_group["old"]["task_limits"] == {"awsvpc": 2}
    assert by_group["new"]["task_limits"] == {"awsvpc": 10}


def test_instance_types_says_when_a_type_is_outside_the_trunking_table(capsys):
    assert main(["instance-types", "c7i.large"]) == 0
    assert "not in ECS's trunking table of 2023-04-18" in capsys.readouterr().out
    assert main(["instance-types", "c5.large"]) == 0
    assert "not in ECS's trunking table" not in capsys.readouterr().out
