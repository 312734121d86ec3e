"""Reachability and security: every blocked packet says where and why, in AWS's terms;
every AWS-invalid combination is refused at load; flow logs show each mode's ENI."""

from __future__ import annotations

import copy

import pytest
from conftest import make_scenario

from ecsnetsim import ScenarioError, load_scenario, simulate


def _one(sc: dict) -> dict:
    return simulate(sc, workers=1).variants[0]


def _svc(mode: str = "bridge", port: int = 8080, **extra) -> dict:
    return {"name": "web", "desired_count": 1, "network_mode": mode, "cpu": 256, "memory": 512,
            "containers": [{"name": "app", "port_mappings": [{"container_port": port}]}],
            **extra}


def _egress(mode: str, route: str, public_ip: bool = False, launch: str = "EC2",
            **svc) -> dict:
    vpc = {"subnets": [{"name": "pub", "cidr": "10.0.0.0/24", "route": "igw"},
                       {"name": "priv", "cidr": "10.0.1.0/24", "route": route}],
           "nat_gateways": [{"name": "nat", "subnet": "pub"}]}
    subnet = "pub" if route == "igw" else "priv"
    groups = [] if launch == "FARGATE" else [
        {"name": "g", "type": "m5.large", "count": 1, "subnet": subnet, "public_ip": public_ip}]
    return make_scenario(vpc=vpc, duration=0.5, cluster={"instance_groups": groups},
                         services=[{**_svc(mode), "launch_type": launch, "subnets": [subnet],
                                    **svc}] if launch == "FARGATE" or mode == "awsvpc"
                         else [_svc(mode)],
                         traffic=[{"name": "out", "from": "web", "to": "internet",
                                   "rate": "200/s"}])


@pytest.mark.parametrize("mode, route, public, at, fragment", [
    ("bridge", "local", False, "vpc/route-table:priv", "has no route to an internet gateway"),
    ("awsvpc", "igw", True, "vpc/route-table:pub", "awsvpc tasks on EC2 never get a public IP"),
    ("host", "igw", False, "vpc/route-table:pub", "has no public IP"),
])
def test_no_way_to_the_internet(mode, route, public, at, fragment):
    (flow,) = _one(_egress(mode, route, public))["flows"]
    assert flow["delivered"] == 0 and flow["unreachable"] == flow["sent"] > 0
    assert flow["blocked"]["at"] == at and fragment in flow["blocked"]["reason"]


@pytest.mark.parametrize("mode", ["bridge", "host", "awsvpc"])
def test_a_nat_gateway_gets_every_mode_out(mode):
    (flow,) = _one(_egress(mode, "nat:nat"))["flows"]
    assert flow["blocked"] is None and flow["delivered"] > 0
    assert flow["path"][-3:] == ["nat_gateway", "igw", "internet"]


def test_public_ip_path_skips_the_nat_gateway():
    (flow,) = _one(_egress("bridge", "igw", public_ip=True))["flows"]
    assert flow["blocked"] is None and flow["path"][-2:] == ["igw", "internet"]


def test_fargate_assign_public_ip_goes_out_of_a_public_subnet():
    blocked = _one(_egress("awsvpc", "igw", launch="FARGATE"))["flows"][0]
    assert "does not assign a public IP" in blocked["blocked"]["reason"]
    out = _one(_egress("awsvpc", "igw", launch="FARGATE", assign_public_ip=True))["flows"][0]
    assert out["blocked"] is None and out["delivered"] > 0


def test_a_nat_gateway_in_a_private_subnet_leads_nowhere():
    sc = _egress("bridge", "nat:nat")
    sc["vpc"]["subnets"][0]["route"] = "local"
    (flow,) = _one(sc)["flows"]
    assert flow["blocked"]["at"] == "nat/nat" and "no route to an internet gateway" in \
        flow["blocked"]["reason"]


# ---- security groups --------------------------------------------------------------------

def _sg_scenario(mode: str, groups: list[dict], svc_groups=None, inst_groups=(),
                 flow_logs: bool = False) -> dict:
    svc = _svc(mode, desired_count=2)
    if svc_groups is not None:
        svc["security_groups"] = svc_groups
    return make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}], "security_groups": groups},
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 2,
                                      "subnet": "a", "security_groups": list(inst_groups)}]},
        services=[svc, {**_svc(mode, port=9000), "name": "caller", "desired_count": 1}],
        traffic=[{"name": "call", "from": "caller", "to": "web", "rate": "500/s"}],
        duration=0.5, flow_logs=flow_logs)


OPEN = [{"name": "open", "ingress": [{"port": "all", "protocol": "all", "from": "any"}]}]


def test_awsvpc_tasks_are_guarded_by_their_own_group():
    groups = [{"name": "web", "ingress": [{"port": 80, "from": "sg:caller"}]},
              {"name": "caller"}]
    v = _one(_sg_scenario("awsvpc", groups, svc_groups=["web"]))
    (flow,) = v["flows"]
    # the caller's ENI is in the VPC's default group, not in "caller": dropped at web's ENI
    assert flow["delivered"] == 0 and flow["blocked"]["at"].endswith("/eni:rx")
    assert "security group web of task web-" in flow["blocked"]["reason"]
    assert "no inbound rule for tcp/8080" in flow["blocked"]["reason"]


def test_bridge_tasks_are_guarded_by_their_instances_group_on_the_host_port():
    only_8080 = [{"name": "hosts", "ingress": [{"port": 8080, "from": "10.0.0.0/16"}]}]
    v = _one(_sg_scenario("bridge", only_8080, inst_groups=["hosts"]))
    (flow,) = v["flows"]
    reason = flow["blocked"]["reason"]
    assert "security group hosts of instance i-" in reason
    assert "tcp/32768" in reason  # the dynamic host port, not the container port
    dynamic = [{"name": "hosts", "ingress": [{"port": "32768-60999", "from": "10.0.0.0/16"}]}]
    ok = _one(_sg_scenario("bridge", dynamic, inst_groups=["hosts"]))["flows"][0]
    assert ok["blocked"] is None and ok["unreachable"] == 0


@pytest.mark.parametrize("mode", ["awsvpc", "bridge", "host"])
def test_a_group_that_allows_the_traffic_changes_nothing_but_the_verdict(mode):
    """With no groups modelled, with an open group, the same path and the same packets."""
    plain = _sg_scenario(mode, OPEN, svc_groups=None if mode != "awsvpc" else ["open"],
                         inst_groups=["open"])
    without = copy.deepcopy(plain)
    without["vpc"].pop("security_groups")
    without["services"][0].pop("security_groups", None)
    without["cluster"]["instance_groups"][0]["security_groups"] = []
    a, b = _one(plain)["flows"][0], _one(without)["flows"][0]
    assert a["blocked"] is None and a["delivered"] > 0
    assert (a["path"], a["sent"], a["delivered"], a["latency_us"]) == \
        (b["path"], b["sent"], b["delivered"], b["latency_us"])


def test_egress_rules_block_at_the_sender():
    groups = [{"name": "closed-out", "ingress": [{"port": "all", "from": "any"}], "egress": []},
              *OPEN]
    v = _one(_sg_scenario("awsvpc", groups, svc_groups=["open"]))
    sc = _sg_scenario("awsvpc", groups, svc_groups=["open"])
    sc["services"][1]["security_groups"] = ["closed-out"]
    (flow,) = _one(sc)["flows"]
    assert "no outbound rule for tcp/8080" in flow["blocked"]["reason"]
    assert flow["blocked"]["at"].endswith("/eni:tx")
    assert v["flows"][0]["delivered"] > 0


def test_health_checks_dropped_by_a_group_make_targets_unhealthy():
    sc = make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}],
             "security_groups": [{"name": "alb", "ingress": [{"port": 80, "from": "any"}]},
                                 {"name": "hosts", "ingress": [{"port": 22, "from": "any"}]}]},
        load_balancers=[{"name": "front", "security_groups": ["alb"]}],
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "a", "security_groups": ["hosts"]}]},
        services=[_svc("bridge", load_balancer="front", deregistration_delay=0,
                       health_check={"interval": 10})],
        traffic=[{"name": "in", "to": "web", "via": "front", "rate": "100/s"}], duration=1)
    v = _one(sc)
    svc = v["placement"]["services"][0]
    assert svc["running"] == 0 and svc["stopped"].get("ELB:UNHEALTHY", 0) >= 1
    assert "ELB:UNHEALTHY" not in svc["launch_failures"]  # they started, then were stopped
    assert "health checks dropped" in svc["health_check_blocked"]
    assert "no healthy target" in v["flows"][0]["blocked"]["reason"]


# ---- load balancers -----------------------------------------------------------------------

def _nlb(mode: str, target_type: str, preserve=None) -> dict:
    return make_scenario(
        load_balancers=[{"name": "nlb", "type": "nlb", "target_type": target_type,
                         "port": 8080, "preserve_client_ip": preserve}],
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "a"}]},
        services=[_svc(mode, load_balancer="nlb"),
                  {**_svc(mode, port=9000), "name": "caller"}],
        traffic=[{"name": "call", "from": "caller", "to": "web", "via": "nlb",
                  "rate": "200/s"}], duration=1)


def test_nlb_loopback_with_instance_targets_times_out():
    (flow,) = _one(_nlb("bridge", "instance"))["flows"]
    assert flow["delivered"] == 0 and flow["blocked"]["at"].startswith("nlb/")
    assert "does not support loopback" in flow["blocked"]["reason"]


@pytest.mark.parametrize("mode, target_type, preserve", [
    ("bridge", "instance", False), ("awsvpc", "ip", None)])
def test_nlb_without_preservation_loops_back(mode, target_type, preserve):
    (flow,) = _one(_nlb(mode, target_type, preserve))["flows"]
    assert flow["blocked"] is None and flow["delivered"] > 0 and "nlb" in flow["path"]


# ---- IMDS ----------------------------------------------------------------------------------

def _imds(mode: str, tokens: str, hop_limit: int, launch: str = "EC2") -> dict:
    groups = [] if launch == "FARGATE" else [
        {"name": "g", "type": "m5.large", "count": 1, "subnet": "a",
         "metadata": {"http_tokens": tokens, "hop_limit": hop_limit}}]
    return make_scenario(cluster={"instance_groups": groups},
                         services=[{**_svc(mode), "launch_type": launch}],
                         traffic=[{"name": "creds", "from": "web", "to": "imds",
                                   "rate": "50/s"}], duration=1)


@pytest.mark.parametrize("mode, tokens, hop_limit, arrives", [
    ("bridge", "required", 1, False), ("bridge", "required", 2, True),
    ("bridge", "optional", 1, True), ("host", "required", 1, True),
    ("awsvpc", "required", 1, True)])
def test_imdsv2_hop_limit_counts_routed_hops(mode, tokens, hop_limit, arrives):
    (flow,) = _one(_imds(mode, tokens, hop_limit))["flows"]
    assert (flow["delivered"] > 0) is arrives
    if not arrives:
        assert flow["blocked"]["at"].endswith("/host-forward")
        assert "hop limit is 1" in flow["blocked"]["reason"]
    else:
        assert flow["path"][-1] == "imds"


def test_fargate_has_no_imds():
    (flow,) = _one(_imds("awsvpc", "optional", 1, "FARGATE"))["flows"]
    assert "Fargate tasks have no access" in flow["blocked"]["reason"]


def test_imds_answers_1024_packets_per_second_per_eni():
    sc = _imds("host", "optional", 1)
    sc["traffic"][0]["rate"] = "4000/s"
    v = _one(sc)
    (flow,) = v["flows"]
    # the ENI passes 1024/s (and a burst of 0.1 s of that) in the 1 s run; the excess is
    # dropped at the ENI and counted there, never queued
    assert 1024 <= flow["delivered"] + flow["in_flight"] <= 1024 + 103
    counted = v["placement"]["instances"][0]["ena"]["linklocal_allowance_exceeded"]
    assert counted == flow["dropped"] == flow["sent"] - flow["delivered"] - flow["in_flight"]
    (dev,) = [d for d in v["devices"] if d["kind"] == "imds"]
    assert dev["drops"] == 0 and dev["mean_wait_us"] == 0


# ---- flow logs -----------------------------------------------------------------------------

def test_flow_logs_show_each_modes_eni(tmp_path):
    from ecsnetsim.cli import main

    for mode in ("awsvpc", "bridge"):
        sc = _sg_scenario(mode, OPEN, svc_groups=["open"] if mode == "awsvpc" else None,
                          inst_groups=["open"], flow_logs=True)
        res = simulate(sc, workers=1)
        rows = res.flow_logs
        sent = res.variants[0]["flows"][0]["sent"]
        assert rows and all(r["action"] == "ACCEPT" for r in rows)
        if mode == "awsvpc":  # each end under its task's own ENI, to the container port
            web = [r for r in rows if r["interface_id"].startswith("eni-web-")]
            caller = [r for r in rows if r["interface_id"].startswith("eni-caller-")]
            assert {r["dstport"] for r in web + caller} == {8080}
            assert sum(r["packets"] for r in web) == sum(r["packets"] for r in caller) == sent
        else:  # under the instances' primary ENIs, to the dynamic host port
            assert all(r["interface_id"].startswith("eni-0") for r in rows)
            assert all(32768 <= r["dstport"] <= 60999 for r in rows)
    out = tmp_path / "out"
    sc = _sg_scenario("bridge", OPEN, inst_groups=["open"], flow_logs=True)
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(sc))
    assert main(["run", str(path), "-o", str(out), "--quiet", "--no-plots"]) == 0
    header = (out / "flow_logs.csv").read_text().splitlines()[0]
    assert header == ("variant,version,account_id,interface_id,srcaddr,dstaddr,srcport,dstport,"
                      "protocol,packets,bytes,start,end,action,log_status")


def test_rejected_packets_are_logged_as_reject():
    closed = [{"name": "closed"}]
    sc = _sg_scenario("awsvpc", closed, svc_groups=["closed"], flow_logs=True)
    rows = simulate(sc, workers=1).flow_logs
    assert any(r["action"] == "REJECT" and r["interface_id"].startswith("eni-web-")
               for r in rows)


# ---- what AWS refuses ----------------------------------------------------------------------

@pytest.mark.parametrize("change, path, fragment", [
    ({"load_balancers": [{"name": "lb", "target_type": "ip"}],
      "services": [_svc("bridge", load_balancer="lb")]},
     "services[0].load_balancer", "has target type ip, which is incompatible with the bridge"),
    ({"load_balancers": [{"name": "lb", "target_type": "instance"}],
      "services": [_svc("awsvpc", load_balancer="lb")]},
     "services[0].load_balancer", "incompatible with the awsvpc network mode"),
    ({"services": [_svc("bridge", load_balancer="nope")]},
     "services[0].load_balancer", "no load balancer named 'nope'"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}], "security_groups": []},
      "services": [_svc("bridge", security_groups=["default"])]},
     "services[0].security_groups", "part of the awsvpc network configuration"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}], "security_groups": []},
      "services": [_svc("awsvpc", security_groups=["web"])]},
     "services[0].security_groups[0]", "no security group named 'web'"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "route": "nat:gw"}]}},
     "vpc.subnets[0].route", "no NAT gateway named 'gw'"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}],
              "security_groups": [{"name": "x", "ingress": [{"port": 80, "from": "sg:y"}]}]}},
     "vpc.security_groups[0].ingress[0].from", "no security group named 'y'"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}],
              "security_groups": [{"name": "x", "ingress": [{"port": 80, "from": "10.0/8"}]}]}},
     "vpc.security_groups[0].ingress[0].from", "expected sg:NAME, an IPv4 CIDR or any"),
    ({"services": [_svc("bridge", service_discovery={"namespace": "local", "record": "A"})]},
     "services[0].service_discovery.record", "A records are supported for the awsvpc"),
    ({"services": [_svc("awsvpc", assign_public_ip=True)]},
     "services[0].assign_public_ip", "supported on Fargate only"),
    ({"load_balancers": [{"name": "lb", "type": "alb", "preserve_client_ip": True}]},
     "load_balancers[0].preserve_client_ip", "Network Load Balancer setting"),
    ({"load_balancers": [{"name": "lb"}], "services": [_svc("bridge")],
      "traffic": [{"name": "f", "to": "web", "via": "lb"}]},
     "traffic[0].via", "is not registered in load balancer 'lb'"),
    ({"traffic": [{"name": "f", "to": "internet"}]},
     "traffic[0].from", "starts at a service's tasks"),
])
def test_aws_invalid_combinations_are_refused(change, path, fragment):
    with pytest.raises(ScenarioError) as err:
        load_scenario(make_scenario(**change))
    assert err.value.path == path, err.value.message
    assert fragment in err.value.message


def test_packet_fate_figure_shows_where_packets_stop():
    from ecsnetsim import plots

    blocked = simulate(_egress("awsvpc", "igw", True), workers=1)
    fig = plots.packet_fate(blocked)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("never get a public IP" in t for t in texts)
    fine = simulate(_egress("bridge", "nat:nat"), workers=1)
    assert plots.packet_fate(fine) is None


def test_internet_facing_balancer_needs_a_public_subnet():
    lb = {"name": "lb", "scheme": "internet-facing"}
    with pytest.raises(ScenarioError) as err:
        load_scenario(make_scenario(load_balancers=[lb]))
    assert err.value.path == "load_balancers[0].scheme"
    assert "route to an internet gateway" in err.value.message
    public = {"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "route": "igw"}]}
    assert load_scenario(make_scenario(vpc=public, load_balancers=[lb]))


def test_a_balancers_own_group_must_admit_the_client():
    sc = make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}],
             "security_groups": [{"name": "alb", "ingress": [{"port": 443, "from": "any"}]},
                                 {"name": "hosts", "ingress": [{"port": "all", "from": "any"}]}]},
        load_balancers=[{"name": "front", "port": 80, "security_groups": ["alb"]}],
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "a", "security_groups": ["hosts"]}]},
        services=[_svc("bridge", load_balancer="front", health_check={"interval": 10})],
        traffic=[{"name": "in", "to": "web", "via": "front", "rate": "100/s"}], duration=1)
    (flow,) = _one(sc)["flows"]
    assert flow["blocked"]["at"].startswith("front/")
    assert "security group alb of load balancer front has no inbound rule for tcp/80" in \
        flow["blocked"]["reason"]


@pytest.mark.parametrize("metadata, arrives", [
    ({}, True),  # EC2's defaults: optional tokens, IMDSv1 answers
    ({"imds_support": "v2.0"}, True),  # required, hop limit 2: bridge's one routed hop fits
    ({"imds_support": "v2.0", "hop_limit": 1}, False),
])
def test_imds_defaults_follow_ec2_and_the_amis_imds_support_flag(metadata, arrives):
    sc = _imds("bridge", "optional", 1)
    sc["cluster"]["instance_groups"][0]["metadata"] = metadata
    (flow,) = _one(sc)["flows"]
    assert (flow["delivered"] > 0) is arrives


def test_health_checks_are_judged_again_after_a_deployment():
    """A deployment gives the service a new revision (a new Service object): its health
    checks must still be found behind the balancer its traffic names. Here revision 2
    moves the tasks into a group that drops the checks, so the deployment stalls on
    ELB:UNHEALTHY as the same group would from the start."""
    groups = [{"name": "alb", "ingress": [{"port": 80, "from": "any"}]},
              {"name": "hosts", "ingress": [{"port": 22, "from": "any"}]},
              {"name": "open", "ingress": [{"port": 8080, "from": "any"}]},
              {"name": "closed", "ingress": [{"port": 22, "from": "any"}]}]
    sc = make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}], "security_groups": groups},
        cluster={"instance_groups": [{"name": "g", "type": "m5.large", "count": 1,
                                      "subnet": "a", "security_groups": ["hosts"]}]},
        services=[_svc("awsvpc", deregistration_delay=0, security_groups=["open"],
                       health_check={"interval": 10})],
        events=[{"at": 100, "deploy": "web", "set": {"security_groups": ["closed"]}}],
        traffic=[{"name": "in", "to": "web", "via": "alb", "rate": "100/s"}], duration=300)
    v = _one(sc)
    (dep,) = v["deployments"]
    assert dep["status"] == "STALLED" and dep["failures"].get("ELB:UNHEALTHY", 0) >= 1
    assert "security group closed" in v["placement"]["services"][0]["health_check_blocked"]
