"""ecsnetsim import aws: saved describe-* outputs (written for these tests), any subset in
any order, become scenarios that validate and run; what is missing is a placeholder said
in a comment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from conftest import run_cli as cli

from ecsnetsim.importers import import_stack

DATA = ROOT / "tests" / "data" / "import" / "aws"
ALL = sorted(DATA.glob("*.json"))


def run(capsys, tmp_path: Path, scenario: Path) -> dict:
    rc, _, err = cli(capsys, "validate", scenario)
    assert rc == 0, err
    rc, _, err = cli(capsys, "run", scenario, "--no-plots", "--quiet", "--workers", "1",
                     "-o", tmp_path / "results")
    assert rc == 0, err
    return json.loads((tmp_path / "results" / "results.json").read_text())


def by_name(items: list[dict]) -> dict[str, dict]:
    return {i["name"]: i for i in items}


def test_every_output_together_round_trips(capsys, tmp_path):
    out = tmp_path / "shop.yaml"
    rc, stdout, err = cli(capsys, "import", "aws", *ALL, "-o", out)
    assert rc == 0, err
    assert "wrote" in stdout and "2 services" in stdout
    sc = yaml.safe_load(out.read_text())
    assert sc["name"] == "shop"  # the cluster's name, from the services' clusterArn
    assert sc["account"] == {"awsvpc_trunking": True}
    groups = sc["cluster"]["instance_groups"]
    assert [(g["count"], g["subnet"], g["awsvpc_trunking"]) for g in groups] == [
        (2, "shop-private-a", True), (1, "shop-private-b", False)]
    services = by_name(sc["services"])
    checkout = services["checkout"]
    assert (checkout["network_mode"], checkout["cpu"], checkout["memory"]) == \
        ("awsvpc", 512, 1024)
    assert checkout["subnets"] == ["shop-private-a", "shop-private-b"]
    assert checkout["security_groups"] == ["checkout-app"]
    assert services["legacy"]["placement_constraints"] == [{"type": "distinctInstance"}]
    text = out.read_text()
    assert "deployment controller CODE_DEPLOY (blue/green): its traffic shift" in text
    assert services["legacy"]["deployment_controller"] == "CODE_DEPLOY"
    assert "listener port not in the source: 80 assumed" in text
    assert "describe-container-instances: a placeholder group open to all inbound" in text
    variant = run(capsys, tmp_path, out)["variants"][0]
    running = {s["name"]: s["running"] for s in variant["placement"]["services"]}
    assert running == {"checkout": 6, "legacy": 2}
    trunked = [i for i in variant["placement"]["instances"] if i["trunked"]]
    assert len(trunked) == 2
    assert all(f["delivered"] > 0 for f in variant["flows"])


def test_order_does_not_matter():
    forward = import_stack("aws", ALL)
    backward = import_stack("aws", ALL[::-1])
    assert forward.scenario == backward.scenario


def test_a_subset_gets_placeholders_and_still_runs(capsys, tmp_path):
    out = tmp_path / "s.yaml"
    rc, _, err = cli(capsys, "import", "aws", DATA / "services.json", "-o", out)
    assert rc == 0, err
    text = out.read_text()
    assert "task definition arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:12 " \
           "is not in the source" in text
    assert "placeholder: subnet subnet-0aaa" in text
    assert "no container instances given" in text
    assert "target group arn:aws:elasticloadbalancing" in text
    variant = run(capsys, tmp_path, out)["variants"][0]
    assert {s["name"] for s in variant["placement"]["services"]} == {"checkout", "legacy"}


@pytest.mark.parametrize("doc, expected", [
    ({"Reservations": []}, "expected one of: aws ecs describe-services (services)"),
    ({"services": {"not": "a list"}}, "services: expected a list"),
    ({"taskDefinition": {"family": "x", "containerDefinitions": [],
                         "taskDefinitionArn": "arn:x"}},
     "Container list cannot be empty"),
])
def test_bad_outputs_exit_2(capsys, tmp_path, doc, expected):
    path = tmp_path / "out.json"
    path.write_text(json.dumps(doc))
    args = [path]
    if "taskDefinition" in doc:  # only refused once a service uses it
        svc = tmp_path / "svc.json"
        svc.write_text(json.dumps({"services": [{"serviceName": "s", "taskDefinition": "arn:x",
                                                 "desiredCount": 1}]}))
        args.append(svc)
    rc, _, err = cli(capsys, "import", "aws", *args)
    assert rc == 2
    assert str(path) in err and expected in err, err


def test_every_described_item_is_named_in_the_scenario(capsys):
    rc, text, err = cli(capsys, "import", "aws", *ALL)
    assert rc == 0, err
    for path in ALL:
        doc = json.loads(path.read_text())
        (key,) = [k for k in doc if k not in ("failures", "tags")]
        items = doc[key] if isinstance(doc[key], list) else [doc[key]]
        ident = {"services": "serviceName", "Subnets": "SubnetId", "SecurityGroups": "GroupId",
                 "LoadBalancers": "LoadBalancerName", "TargetGroups": "TargetGroupName",
                 "containerInstances": "ec2InstanceId"}.get(key)
        for item in items:
            name = item[ident] if ident else f"{item['family']}:{item['revision']}"
            assert f"{name}" in text and f"({path.name})" in text, (path.name, name)


def test_route_tables_nat_gateways_and_listeners_when_given(capsys, tmp_path):
    """describe-route-tables, describe-nat-gateways and describe-listeners, given beside
    the others, replace the assumptions they would otherwise need."""
    out = tmp_path / "s.yaml"
    rc, _, err = cli(capsys, "import", "aws", *ALL, *sorted((DATA / "extra").glob("*.json")),
                     "-o", out)
    assert rc == 0, err
    sc = yaml.safe_load(out.read_text())
    routes = {s["name"]: s["route"] for s in sc["vpc"]["subnets"]}
    assert routes == {"shop-private-a": "nat:shop-nat", "shop-private-b": "local",
                      "shop-public-a": "igw"}  # b: the main table, local route only
    assert sc["vpc"]["nat_gateways"] == [{"name": "shop-nat", "subnet": "shop-public-a"}]
    lbs = by_name(sc["load_balancers"])
    assert lbs["shop"]["port"] == 8443  # the listener's, not an assumption
    assert lbs["shop-legacy"]["port"] == 80
    text = out.read_text()
    assert text.count("listener port not in the source: 80 assumed") == 1
    run(capsys, tmp_path, out)
