"""ecsnetsim import terraform: 'terraform show -json' of a plan (references read from its
configuration, through a child module's outputs) and of a state (references by ID), both
written for these tests, become scenarios that validate and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from conftest import run_cli as cli

DATA = ROOT / "tests" / "data" / "import" / "terraform"


def import_and_run(capsys, tmp_path: Path, *args) -> tuple[dict, str, dict]:
    out = tmp_path / "scenario.yaml"
    rc, _, err = cli(capsys, "import", "terraform", *args, "-o", out, "--quiet")
    assert rc == 0, err
    rc, _, err = cli(capsys, "validate", out)
    assert rc == 0, err
    rc, _, err = cli(capsys, "run", out, "--no-plots", "--quiet", "--workers", "1",
                     "-o", tmp_path / "results")
    assert rc == 0, err
    text = out.read_text()
    return (yaml.safe_load(text), text,
            json.loads((tmp_path / "results" / "results.json").read_text()))


def by_name(items: list[dict]) -> dict[str, dict]:
    return {i["name"]: i for i in items}


def test_a_plan_resolves_unknown_ids_through_its_configuration(capsys, tmp_path):
    sc, text, res = import_and_run(capsys, tmp_path, DATA / "plan.json", "--region",
                                   "eu-west-1")
    subnets = by_name(sc["vpc"]["subnets"])
    # counted resources, count.index in an association, a route resource and an inline one
    assert subnets["public-a"]["route"] == "igw"
    assert subnets["private-a"]["route"] == subnets["private-b"]["route"] == "nat:this"
    assert sc["vpc"]["nat_gateways"] == [{"name": "this", "subnet": "public-a"}]
    # the ASG's subnets through module.network.private_subnets, its template by reference
    groups = sc["cluster"]["instance_groups"]
    assert [(g["subnet"], g["count"], g["type"]) for g in groups] == [
        ("private-a", 1, "m5.large"), ("private-b", 1, "m5.large")]
    assert groups[0]["security_groups"] == ["hosts"]
    groups_by_name = by_name(sc["vpc"]["security_groups"])
    assert {"port": "32768-60999", "from": "sg:alb"} in groups_by_name["hosts"]["ingress"]
    assert {"port": 8080, "from": "sg:alb"} in groups_by_name["api"]["ingress"]
    services = by_name(sc["services"])
    assert services["web"]["containers"][0]["port_mappings"][0]["container_port"] == 80
    assert services["web"]["memory"] == 256  # memoryReservation from container_definitions
    assert services["api"]["subnets"] == ["private-a", "private-b"]
    assert services["agent"]["scheduling"] == "daemon"
    lbs = by_name(sc["load_balancers"])
    assert lbs[services["api"]["load_balancer"]]["target_type"] == "ip"
    assert lbs[services["web"]["load_balancer"]]["scheme"] == "internal"
    assert "reached by aws_lb_listener_rule aws_lb_listener_rule.api" in text
    assert "data.aws_ssm_parameter.ami (plan.json): a data source" in text
    assert "aws_eip module.network.aws_eip.nat (plan.json): an Elastic IP" in text
    assert "capacity provider strategy [hosts base 1 weight 1, FARGATE base 0 weight 1]" \
        in text
    (variant,) = res["variants"]
    assert all(s["running"] == s["desired"] for s in variant["placement"]["services"])
    assert all(f["delivered"] > 0 for f in variant["flows"])


def test_a_state_resolves_references_by_id(capsys, tmp_path):
    sc, text, res = import_and_run(capsys, tmp_path, DATA / "state.json")
    (subnet,) = sc["vpc"]["subnets"]
    assert subnet["route"] == "igw" and subnet["az"] == "us-west-2a"
    hosts = by_name(sc["vpc"]["security_groups"])["edge-hosts"]["ingress"]
    assert {"port": 443, "from": "sg:edge-clients"} in hosts  # a group by its ID
    assert {"port": 443, "from": "sg:edge-hosts"} in hosts  # self = true
    assert "peer pl-0aa not modelled" in text
    (group,) = sc["cluster"]["instance_groups"]
    assert (group["type"], group["count"], group["public_ip"]) == ("c6gn.medium", 2, True)
    (svc,) = sc["services"]
    assert svc["runtime_platform"]["cpu_architecture"] == "ARM64"
    assert svc["placement_constraints"] == [{"type": "distinctInstance"}]
    (lb,) = sc["load_balancers"]
    assert (lb["type"], lb["port"], lb["scheme"]) == ("nlb", 443, "internet-facing")
    flows = res["variants"][0]["flows"]
    assert flows[0]["delivered"] > 0 and flows[0]["unreachable"] == 0


def test_plan_and_state_together(capsys, tmp_path):
    rc, text, err = cli(capsys, "import", "terraform", DATA / "plan.json",
                        DATA / "state.json")
    assert rc == 0, err
    assert "2 ECS clusters in the source" in text


@pytest.mark.parametrize("doc, expected", [
    ({"format_version": "1.0"}, "planned_values.root_module (a plan) or values.root_module"),
    ([1, 2], "planned_values.root_module"),
    ({"values": {"root_module": {"resources": [
        {"address": "aws_ecs_task_definition.x", "mode": "managed",
         "type": "aws_ecs_task_definition", "name": "x",
         "values": {"family": "x", "container_definitions": "[{not json"}}]}}},
     "container_definitions is not valid JSON"),
    ({"values": {"root_module": {"resources": [
        {"address": "aws_ecs_task_definition.x", "mode": "managed",
         "type": "aws_ecs_task_definition", "name": "x",
         "values": {"family": "x", "container_definitions": json.dumps(
             [{"name": "a", "memory": 4}])}},
        {"address": "aws_ecs_service.x", "mode": "managed", "type": "aws_ecs_service",
         "name": "x", "values": {"name": "x", "task_definition": "x"}}]}}},
     "4 MiB is below the 6 MiB"),
])
def test_bad_terraform_json_exits_2(capsys, tmp_path, doc, expected):
    path = tmp_path / "tf.json"
    path.write_text(json.dumps(doc))
    rc, _, err = cli(capsys, "import", "terraform", path)
    assert rc == 2
    assert str(path) in err and expected in err, err


def _resources(module: dict):
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


@pytest.mark.parametrize("name", ["plan.json", "state.json"])
def test_every_resource_is_named_in_the_scenario(capsys, name):
    """Readable: each resource is the origin of a line, named in a comment about one,
    left out with why, or listed as read without a line of its own."""
    rc, text, err = cli(capsys, "import", "terraform", DATA / name)
    assert rc == 0, err
    doc = json.loads((DATA / name).read_text())
    root = (doc.get("planned_values") or doc["values"])["root_module"]
    comments = "\n".join(line for line in text.splitlines() if "#" in line)
    for res in _resources(root):
        assert f"{res['type']} {res['address']} ({name})" in comments, res["address"]
    if name == "plan.json":  # its default strategy is not used by any service
        assert "Read, but no line of the scenario comes from it:\n# - " \
               "aws_ecs_cluster_capacity_providers aws_ecs_cluster_capacity_providers.main" \
               in text


def test_a_group_without_egress_blocks_has_no_egress(capsys):
    """The AWS provider removes the allow-all egress rule of a new group; a plan that
    gives no egress block means none (the alb group gives one: all open)."""
    rc, text, err = cli(capsys, "import", "terraform", DATA / "plan.json")
    assert rc == 0, err
    groups = by_name(yaml.safe_load(text)["vpc"]["security_groups"])
    assert groups["api"]["egress"] == []
    assert "egress" not in groups["alb"]
    assert "Terraform removes the allow-all rule AWS gives a new group" in text
