"""ecsnetsim import cloudformation: templates written for these tests (tests/data/import/
cloudformation) become scenarios that validate and run, with every resource accounted for
in a comment; bad templates exit 2 with the file and what was expected."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from conftest import run_cli as cli

DATA = ROOT / "tests" / "data" / "import" / "cloudformation"
WEB, NETWORK = DATA / "web-stack.yaml", DATA / "network.json"


def import_and_run(capsys, tmp_path: Path, *args: str) -> tuple[dict, str, dict]:
    """Import, check that validate accepts the file and run --no-plots runs it; the
    scenario, its text and results.json."""
    out = tmp_path / "scenario.yaml"
    rc, _, err = cli(capsys, "import", *args, "-o", out, "--quiet")
    assert rc == 0, err
    rc, stdout, err = cli(capsys, "validate", out)
    assert rc == 0 and "ok" in stdout, err
    rc, _, err = cli(capsys, "run", out, "--no-plots", "--quiet", "--workers", "1",
                     "-o", tmp_path / "results")
    assert rc == 0, err
    text = out.read_text()
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    return yaml.safe_load(text), text, results


def by_name(items: list[dict]) -> dict[str, dict]:
    return {i["name"]: i for i in items}


def test_a_stack_of_templates_round_trips_to_a_running_scenario(capsys, tmp_path):
    sc, text, res = import_and_run(capsys, tmp_path, "cloudformation", WEB, NETWORK)
    services = by_name(sc["services"])
    assert set(services) == {"web", "api", "batch", "worker"}
    # intrinsic functions: !Cidr/!GetAtt/!Select, !GetAZs, !Sub, !Join across the JSON template
    subnets = by_name(sc["vpc"]["subnets"])
    assert subnets["PublicA"] == {"name": "PublicA", "cidr": "10.0.0.0/24", "az": "us-east-1a",
                                  "route": "igw"}
    assert subnets["PublicB"]["cidr"] == "10.0.1.0/24"
    assert subnets["PrivateB"] == {"name": "PrivateB", "cidr": "10.0.32.0/20",
                                   "az": "us-east-1b", "route": "nat:NatA"}
    assert sc["vpc"]["nat_gateways"] == [{"name": "NatA", "subnet": "PublicA"}]
    # !ImportValue across templates and !Split: the ASG's two private subnets, 3 instances
    groups = [g for g in sc["cluster"]["instance_groups"] if not g.get("external")]
    assert [(g["subnet"], g["count"]) for g in groups] == [("PrivateA", 2), ("PrivateB", 1)]
    assert {g["type"] for g in groups} == {"c5.large"}
    assert groups[0]["metadata"] == {"http_tokens": "required", "hop_limit": 2}
    assert groups[0]["scaling"]["max"] + groups[1]["scaling"]["max"] == 6
    # the task definitions, through !FindInMap, with the service's own settings
    web = services["web"]
    assert (web["network_mode"], web["cpu"], web["memory"], web["desired_count"]) == \
        ("bridge", 256, 512, 2)
    assert web["containers"][0]["port_mappings"][0]["host_port"] == 0
    assert web["placement_strategy"][1] == {"type": "binpack", "field": "memory"}
    assert web["deployment"]["circuit_breaker"] == {"enable": True, "rollback": True}
    assert web["health_check"]["grace_period"] == "30s"
    assert web["deregistration_delay"] == "30s"
    # the nested stack's Fargate service with its parameters (a subnet list, a group)
    worker = services["worker"]
    assert worker["capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
        {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 3}]
    assert worker["memory"] == 1024
    assert worker["subnets"] == ["PrivateA", "PrivateB"]
    assert worker["security_groups"] == ["HostSG"]
    # the load balancer: one per target group used, behind the listener (or its rule)
    lbs = by_name(sc["load_balancers"])
    assert lbs[web["load_balancer"]]["target_type"] == "instance"
    assert lbs[services["api"]["load_balancer"]]["target_type"] == "ip"
    assert lbs[web["load_balancer"]]["scheme"] == "internet-facing"
    # it ran: every task placed but the one that needs a GPU (the cluster's c5.large have
    # none: ECS's RESOURCE:GPU), the assumed flows delivered through the ALB
    (variant,) = res["variants"]
    placed = {s["name"]: s for s in variant["placement"]["services"]}
    assert services["batch"]["gpu"] == 1 and placed["batch"]["running"] == 0
    assert set(placed["batch"]["failures"]) == {"RESOURCE:GPU"}
    assert all(s["running"] == s["desired"] for n, s in placed.items() if n != "batch"), placed
    flows = by_name(variant["flows"])
    assert flows["web-in"]["delivered"] > 0 and flows["web-in"]["unreachable"] == 0
    assert "alb" in flows["web-in"]["path"]


def test_every_resource_of_the_templates_is_named_in_the_scenario(capsys, tmp_path):
    """Readable: each resource is either the origin of a line, named in a comment about
    one, or listed as not modelled, with why."""
    rc, text, err = cli(capsys, "import", "cloudformation", WEB, NETWORK)
    assert rc == 0, err
    comments = "\n".join(line for line in text.splitlines() if "#" in line)
    for path in (WEB, NETWORK, DATA / "nested" / "worker.yaml"):
        doc = yaml.load(path.read_text(), Loader=_Lenient) if path.suffix != ".json" else \
            json.loads(path.read_text())
        prefix = "WorkerStack." if path.name == "worker.yaml" else ""
        for name, spec in doc["Resources"].items():
            if spec["Type"] == "AWS::CloudFormation::Stack":
                assert f"nested stack {name}" in comments
                continue
            assert f"{spec['Type']} {prefix}{name} ({path.name})" in comments, name


class _Lenient(yaml.SafeLoader):
    """The fixtures' short forms, read as plain values (only the keys matter here)."""


_Lenient.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_what_the_format_cannot_say_is_said_in_comments(capsys):
    rc, text, _ = cli(capsys, "import", "cloudformation", WEB, NETWORK)
    assert rc == 0
    for said in ("deployment controller CODE_DEPLOY (blue/green): its traffic shift, test "
                 "listener and termination wait are the CodeDeploy deployment group's",
                 "no listener or load balancer forwards to AWS::ElasticLoadBalancingV2::"
                 "TargetGroup ApiAdminTG (web-stack.yaml)",
                 "1 GPU(s) per task, the sum of its containers",
                 "launch type EXTERNAL (ECS Anywhere): on the external instances",
                 "placeholder: the external instances (ECS Anywhere)",
                 "toward its target capacity 90%",
                 "protocol icmp not modelled",
                 "peer ::/0 not modelled",
                 "AWS::Logs::LogGroup LogGroup (web-stack.yaml): logging is not part",
                 "AWS::IAM::Role TaskRole (web-stack.yaml): IAM",
                 "AWS::EC2::Instance Bastion (web-stack.yaml): its condition WithDebug is false",
                 "parameter AmiId is the SSM parameter"):
        assert said in text, said


def test_parameters_and_conditions(capsys, tmp_path):
    rc, text, err = cli(capsys, "import", "cloudformation", WEB, NETWORK, "--parameter",
                        "DesiredCount=5", "--parameter", "InstanceType=m5.xlarge",
                        "--parameter", "EnableWorker=false")
    assert rc == 0, err
    sc = yaml.safe_load(text)
    assert by_name(sc["services"])["web"]["desired_count"] == 5
    assert {g["type"] for g in sc["cluster"]["instance_groups"]} == {"m5.xlarge"}
    assert "worker" not in by_name(sc["services"])
    assert "WorkerStack (web-stack.yaml): its condition WithWorker is false" in text
    rc, _, err = cli(capsys, "import", "cloudformation", WEB, "--parameter", "Nope=1")
    assert rc == 2 and "Nope" in err and "DesiredCount" in err
    rc, _, err = cli(capsys, "import", "cloudformation", WEB, "--parameter", "novalue")
    assert rc == 2 and "expected KEY=VALUE" in err


def test_imports_not_given_become_placeholders_that_still_run(capsys, tmp_path):
    """Without network.json the subnets cannot be known offline: placeholders, said so,
    and the scenario still runs."""
    sc, text, res = import_and_run(capsys, tmp_path, "cloudformation", WEB)
    assert "ImportValue network-PrivateSubnets: no template given exports it" in text
    assert "placeholder: subnet" in text
    assert all(s["cidr"].startswith("100.") for s in sc["vpc"]["subnets"])
    assert "modelled as internal" in text  # the ALB's public subnets are unknown
    assert res["variants"][0]["placement"]["services"]


def test_nested_stack_found_through_templates_dir(capsys, tmp_path):
    copy = tmp_path / "web-stack.yaml"
    shutil.copy(WEB, copy)
    rc, _, err = cli(capsys, "import", "cloudformation", copy, NETWORK)
    assert rc == 2
    assert "nested stack WorkerStack" in err and "worker.yaml" in err and "--templates" in err
    rc, text, err = cli(capsys, "import", "cloudformation", copy, NETWORK,
                        "--templates", DATA)
    assert rc == 0, err
    assert "name: worker" in text


@pytest.mark.parametrize("body, expected", [
    ("Resources:\n  X: !!python/object/apply:os.system ['echo unsafe']\n",
     "tag:yaml.org,2002:python/object/apply:os.system"),
    ("Resources:\n  X: !!python/name:os.system\n", "python/name:os.system"),
    ("Resources:\n  X: !Unknown thing\n", "!Unknown"),
])
def test_unsafe_or_unknown_yaml_tags_are_refused(capsys, tmp_path, body, expected):
    path = tmp_path / "t.yaml"
    path.write_text(body)
    out = tmp_path / "scenario.yaml"
    rc, _, err = cli(capsys, "import", "cloudformation", path, "-o", out)
    assert rc == 2
    assert str(path) in err and expected in err and "refused" in err and ":2:" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("body, expected", [
    ("- just\n- a list\n", "expected a CloudFormation template: a mapping with Resources"),
    ("Resources:\n  A: {Type: AWS::EC2::Subnet\n", "not valid YAML"),
    ('{"Resources": {"A": {"Type": "AWS::EC2::Subnet"}', "not valid JSON"),
    ("Resources:\n  A: {Properties: {}}\n", "Resources.A: expected a mapping with Type"),
    ("Resources:\n  A: {Type: AWS::EC2::VPC}\n  A: {Type: AWS::EC2::Subnet}\n",
     ":3: the key 'A' is given twice"),
    ('{"Resources": {"A": {"Type": "X", "Type": "Y"}}}', "the key 'Type' is given twice"),
    ("Resources:\n  A: {Type: AWS::EC2::Subnet, Properties: {CidrBlock: !Select [5, [a]]}}\n",
     "Fn::Select index 5 is not in the list of 1"),
    ("Resources:\n  A: {Type: AWS::EC2::Subnet, Condition: Nope}\n",
     "condition 'Nope' is not declared"),
    ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nResources: {}\n", "more than 1,000,000"),
])
def test_bad_templates_exit_2_naming_the_file(capsys, tmp_path, body, expected):
    path = tmp_path / "t.yaml"
    path.write_text(body)
    rc, _, err = cli(capsys, "import", "cloudformation", path)
    assert rc == 2
    assert str(path) in err and expected in err, err


def test_a_stack_with_nothing_to_simulate_exits_2(capsys):
    rc, _, err = cli(capsys, "import", "cloudformation", NETWORK)
    assert rc == 2
    assert "network.json" in err and "no ECS service" in err


def test_missing_file_and_bad_output_exit_2_and_nothing_is_half_written(capsys, tmp_path):
    rc, _, err = cli(capsys, "import", "cloudformation", tmp_path / "nope.yaml")
    assert rc == 2 and "nope.yaml" in err and "no such file" in err
    rc, _, err = cli(capsys, "import", "cloudformation", WEB, NETWORK, "-o",
                     tmp_path / "no-dir" / "s.yaml")
    assert rc == 2 and "does not exist" in err
    out = tmp_path / "s.yaml"
    out.write_text("keep me\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("Resources: [\n")
    rc, _, _ = cli(capsys, "import", "cloudformation", bad, "-o", out)
    assert rc == 2 and out.read_text() == "keep me\n"
    rc, _, _ = cli(capsys, "import", "cloudformation", WEB, NETWORK, "-o", out)
    assert rc == 0 and out.read_text().startswith("# Imported by")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_input_never_shows_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "ecsnetsim", "import", "cloudformation",
                           str(NETWORK), str(DATA)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and str(DATA) in proc.stderr


WINDOWS_STACK = """
Parameters:
  UseSpot: {Type: String, Default: "no"}
  WindowsAmi:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami-windows-latest/Windows_Server-2022-English-Full-ECS_Optimized/image_id
Conditions:
  Spot: !Equals [!Ref UseSpot, "yes"]
Resources:
  Sub:
    Type: AWS::EC2::Subnet
    Properties: {CidrBlock: 10.9.0.0/24, AvailabilityZone: eu-central-1b}
  Table:
    Type: AWS::EC2::RouteTable
  ToTgw:
    Type: AWS::EC2::Route
    Properties: {RouteTableId: !Ref Table, DestinationCidrBlock: 0.0.0.0/0,
                 TransitGatewayId: tgw-0123}
  Assoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref Sub, RouteTableId: !Ref Table}
  Hosts:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: hosts
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 49152, ToPort: 65535, CidrIp: 10.9.0.0/16}]
  HostsOut:
    Type: AWS::EC2::SecurityGroupEgress
    Properties: {GroupId: !Ref Hosts, IpProtocol: tcp, FromPort: 443, ToPort: 443,
                 CidrIp: 0.0.0.0/0}
  Config:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      ImageId: !Ref WindowsAmi
      InstanceType: m5.xlarge
      SecurityGroups: [!Ref Hosts]
      SpotPrice: !If [Spot, "0.1", !Ref "AWS::NoValue"]
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      LaunchConfigurationName: !Ref Config
      VPCZoneIdentifier: [!Ref Sub]
      MinSize: 2
      MaxSize: 2
  Mixed:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      VPCZoneIdentifier: [!Ref Sub]
      DesiredCapacity: 1
      MixedInstancesPolicy:
        LaunchTemplate:
          LaunchTemplateSpecification: {LaunchTemplateId: lt-0external}
          Overrides: [{InstanceType: x9.huge}, {InstanceType: m5.large}]
  Iis:
    Type: AWS::ECS::TaskDefinition
    Properties:
      RuntimePlatform: {OperatingSystemFamily: WINDOWS_SERVER_2022_FULL}
      ContainerDefinitions:
        - {Name: iis, Cpu: 512, Memory: 1024, PortMappings: [{ContainerPort: 80}]}
  Web:
    Type: AWS::ECS::Service
    Properties: {TaskDefinition: !Ref Iis, DesiredCount: 2}
"""


def test_windows_launch_configuration_and_what_is_not_modelled(capsys, tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_text(WINDOWS_STACK)
    sc, text, res = import_and_run(capsys, tmp_path, "cloudformation", path, "--region",
                                   "eu-central-1")
    (subnet,) = sc["vpc"]["subnets"]
    assert subnet["route"] == "local" and "tgw-0123, which is not modelled" in text
    hosts = sc["vpc"]["security_groups"][0]
    assert hosts["egress"] == [{"port": 443, "to": "0.0.0.0/0"}]  # the egress resource
    windows, mixed = sc["cluster"]["instance_groups"]
    assert (windows["os"], windows["type"], windows["count"]) == ("windows", "m5.xlarge", 2)
    assert "no desired capacity: MinSize 2 instances assumed" in text
    assert mixed["type"] == "m5.large"  # the first override is not in the catalog
    assert "instance type x9.huge unknown or not in the catalog: placeholder m5.large" in text
    (svc,) = sc["services"]
    assert "network_mode" not in svc  # Windows without networkMode: ECS's default
    placed = res["variants"][0]["placement"]["services"][0]
    assert placed["network_mode"] == "default" and placed["running"] == 2
