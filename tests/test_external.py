"""The EXTERNAL launch type (ECS Anywhere): external instances with no ENIs and no VPC
address, bridge/host/none tasks on them only, and what AWS refuses (ECS Developer Guide,
external instances: no awsvpc, no load balancers, no service discovery, no capacity
providers), each with its field, line and exit status 2."""

from __future__ import annotations

import json

import yaml
from conftest import make_scenario, run_cli

from ecsnetsim import load_scenario, simulate

GROUPS = [{"name": "hosts", "type": "c5.large", "count": 1, "subnet": "a"},
          {"name": "onprem", "type": "m5.xlarge", "count": 2, "external": True}]


def _edge(**extra) -> dict:
    return {"name": "edge", "launch_type": "EXTERNAL", "network_mode": "bridge",
            "desired_count": 6, "cpu": 512, "memory": 1024,
            "containers": [{"name": "app", "port_mappings": [{"container_port": 8080}]}],
            **extra}


def _run(services: list[dict]) -> dict:
    sc = make_scenario(cluster={"instance_groups": GROUPS}, services=services)
    return simulate(sc, workers=1).variants[0]["placement"]


def test_external_tasks_run_on_external_instances_only_and_ec2_tasks_never_do():
    p = _run([_edge(), {"name": "api", "network_mode": "awsvpc", "desired_count": 4,
                        "cpu": 256, "memory": 512}])
    edge, api = p["services"]
    assert (edge["launch_type"], edge["running"]) == ("EXTERNAL", 6)
    # the c5.large takes 2 awsvpc tasks (3 ENIs); the external servers have no ENI for
    # the other two
    assert api["running"] == 2 and api["failures"] == {"RESOURCE:ENI": 2}
    by_group: dict = {}
    for inst in p["instances"]:
        by_group.setdefault(inst["group"], []).append(inst)
    assert sum(i["tasks"] for i in by_group["onprem"]) == 6
    assert sum(i["tasks"] for i in by_group["hosts"]) == 2
    for inst in by_group["onprem"]:
        assert inst["eni"] == {"used": 0, "limit": 0}
        assert inst["subnet"] == "on-premises"
        assert inst["task_limits"] == {}  # no awsvpc limit where awsvpc cannot run
    assert by_group["hosts"][0]["task_limits"] == {"awsvpc": 2}
    assert p["subnets"][0]["ips_used"] == 1 + 2  # the c5.large and its two task ENIs


def test_a_task_definition_for_external_only_runs_as_external():
    """requires_compatibilities [EXTERNAL] and no launch type: EXTERNAL, the only one the
    task definition allows."""
    svc = _edge(requires_compatibilities=["EXTERNAL"])
    del svc["launch_type"]
    (edge,) = _run([svc])["services"]
    assert (edge["launch_type"], edge["running"]) == ("EXTERNAL", 6)


def test_a_task_definition_file_for_external(tmp_path):
    """The same from a task definition JSON, as the AWS CLI prints it."""
    (tmp_path / "td.json").write_text(json.dumps({
        "family": "edge", "networkMode": "host", "requiresCompatibilities": ["EXTERNAL"],
        "containerDefinitions": [{"name": "agent", "image": "x", "memory": 256,
                                  "portMappings": [{"containerPort": 9100}]}]}))
    data = make_scenario(cluster={"instance_groups": GROUPS},
                         services=[{"name": "edge", "desired_count": 2,
                                    "task_definition": "td.json"}])
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    (edge,) = simulate(load_scenario(tmp_path / "s.yaml"),
                       workers=1).variants[0]["placement"]["services"]
    assert (edge["launch_type"], edge["network_mode"], edge["running"]) == \
        ("EXTERNAL", "host", 2)


def test_external_tasks_wait_when_the_servers_are_full():
    p = _run([_edge(desired_count=40)])
    (edge,) = p["services"]
    assert edge["running"] < 40 and edge["pending"] == 40 - edge["running"]
    assert set(edge["failures"]) <= {"RESOURCE:CPU", "RESOURCE:MEMORY"}


def _refused(tmp_path, capsys, data: dict) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rc, _out, err = run_cli(capsys, "validate", path)
    assert rc == 2, err
    assert "Traceback" not in err and f"{path}:" in err
    return err


def test_awsvpc_on_external_is_refused(tmp_path, capsys):
    err = _refused(tmp_path, capsys, make_scenario(cluster={"instance_groups": GROUPS},
                                                   services=[_edge(network_mode="awsvpc")]))
    assert "services[0].network_mode" in err
    assert "the awsvpc network mode isn't supported on external instances" in err


def test_a_load_balancer_on_external_is_refused(tmp_path, capsys):
    data = make_scenario(cluster={"instance_groups": GROUPS},
                         load_balancers=[{"name": "front", "target_type": "instance"}],
                         services=[_edge(load_balancer="front")])
    err = _refused(tmp_path, capsys, data)
    assert "services[0].load_balancer" in err
    assert "load balancers aren't supported on external instances" in err


def test_a_flow_through_a_balancer_to_external_is_refused(tmp_path, capsys):
    data = make_scenario(cluster={"instance_groups": GROUPS}, services=[_edge()],
                         traffic=[{"name": "in", "to": "edge", "via": "alb"}])
    err = _refused(tmp_path, capsys, data)
    assert "traffic[0].via" in err and "load balancers aren't supported" in err


def test_external_without_external_instances_is_refused(tmp_path, capsys):
    err = _refused(tmp_path, capsys, make_scenario(services=[_edge()]))
    assert "services[0].launch_type" in err and "external: true" in err


def test_requires_compatibilities_must_name_external(tmp_path, capsys):
    data = make_scenario(cluster={"instance_groups": GROUPS},
                         services=[_edge(requires_compatibilities=["EC2"])])
    err = _refused(tmp_path, capsys, data)
    assert "services[0].launch_type" in err and "does not support launch_type EXTERNAL" in err


def test_an_external_group_cannot_back_a_capacity_provider(tmp_path, capsys):
    groups = [dict(GROUPS[1], scaling={"max": 4})]
    data = make_scenario(cluster={"instance_groups": groups, "capacity_providers": [
        {"name": "cp", "instance_group": "onprem"}]}, services=[_edge()])
    err = _refused(tmp_path, capsys, data)
    assert "cluster.capacity_providers[0].instance_group" in err
    assert "capacity providers aren't supported on external instances" in err
