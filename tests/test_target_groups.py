"""Several target groups per service (ECS's loadBalancers[]), through the public API, the
CLI and the importer.

Source: ECS Developer Guide, "Registering multiple target groups with a service" (each
entry a target group with a containerName and containerPort; at most five; ALB or NLB;
only with the ECS deployment controller) and ELB's listener rules (path-pattern
conditions, case-sensitive, ``*`` and ``?`` wildcards; a listener's default action when
no rule matches). What a flow reaches is read from the flow logs and the devices its
packets crossed, never from the configuration.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import make_scenario, run_cli

import ecsnetsim
from ecsnetsim.targetgroups import path_matches

FIXTURE = Path(__file__).parent / "data" / "import" / "target-groups" / "shop.yaml"


def shop(**over) -> dict:
    """An awsvpc service with two containers (8080, 9090) behind an ALB (a path rule to
    8080, the default action to 9090) and an NLB (9090 on listener 9443)."""
    sc = make_scenario(
        duration="2s", flow_logs=True,
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 2,
                                      "subnet": "a"}]},
        load_balancers=[{"name": "front", "type": "alb", "target_type": "ip", "port": 80},
                        {"name": "back", "type": "nlb", "target_type": "ip", "port": 9443}],
        services=[{"name": "web", "desired_count": 2, "network_mode": "awsvpc",
                   "containers": [
                       {"name": "app", "port_mappings": [{"container_port": 8080}]},
                       {"name": "admin", "port_mappings": [{"container_port": 9090}]}],
                   "load_balancers": [
                       {"load_balancer": "front", "target_group": "web-api",
                        "container": "app", "container_port": 8080, "path": "/api/*"},
                       {"load_balancer": "front", "target_group": "web-ui",
                        "container": "admin", "container_port": 9090},
                       {"load_balancer": "back", "container": "admin",
                        "container_port": 9090}]}],
        traffic=[{"name": "api", "from": "client", "to": "web", "via": "front",
                  "path": "/api/orders", "rate": "300/s"},
                 {"name": "ui", "from": "client", "to": "web", "via": "front",
                  "path": "/index.html", "rate": "100/s"},
                 {"name": "admin", "from": "client", "to": "web", "via": "back",
                  "rate": "50/s"}])
    sc.update(over)
    return sc


def ports_reached(v: dict) -> Counter:
    """Packets that entered a task ENI, by destination port (flow logs)."""
    got: Counter = Counter()
    for r in v["flow_logs"]:
        if r["interface_id"].startswith("eni-web") and r["srcaddr"] != r["dstaddr"]:
            got[r["dstport"]] += r["packets"]
    return got


def test_each_target_group_reaches_its_container_port():
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(shop()))
    v = res.variants[0]
    flows = {f["name"]: f for f in v["flows"]}
    assert all(f["delivered"] > 0 and f["unreachable"] == 0 for f in flows.values())
    reached = ports_reached(v)
    checks: Counter = Counter()  # every group's health checks, each to its own port
    for r in v["flow_logs"]:
        if r["interface_id"].startswith("eni-web") and r["start"] < v["steady_at"]:
            checks[r["dstport"]] += r["packets"]
    # the ALB's path rule: /api/orders -> 8080; any other path -> the default group, 9090;
    # the NLB -> 9090 (its listener 9443 is what the client connects to)
    assert reached[8080] == flows["api"]["delivered"] + checks[8080]
    assert reached[9090] == (flows["ui"]["delivered"] + flows["admin"]["delivered"]
                             + checks[9090])
    client = {(r["dstaddr"], r["dstport"]) for r in v["flow_logs"]
              if r["interface_id"] == "eni-client"}
    assert {port for _ip, port in client} == {80, 9443}


def test_each_groups_health_checks_need_its_port_open():
    """Tasks admit 8080 from the ALB but not 9090: the 9090 group's health checks are
    dropped at the task's ENI, the task is healthy in no group, and no flow gets through
    (ECS replaces a task unhealthy in any of its groups); opening 9090 lets both through."""
    sc = shop()
    sc["vpc"]["security_groups"] = [
        {"name": "alb", "ingress": [{"port": 80, "from": "any"}]},
        {"name": "tasks", "ingress": [{"port": 8080, "from": "sg:alb"}]}]
    sc["load_balancers"][0]["security_groups"] = ["alb"]
    sc["services"][0]["security_groups"] = ["tasks"]
    sc["services"][0]["load_balancers"] = sc["services"][0]["load_balancers"][:2]
    sc["traffic"] = sc["traffic"][:2]
    flows = {f["name"]: f for f in ecsnetsim.simulate(
        ecsnetsim.load_scenario(sc)).variants[0]["flows"]}
    for f in flows.values():
        assert f["delivered"] == 0 and f["unreachable"] == f["sent"] > 0
        assert "health checks dropped" in f["blocked"]["reason"]
        assert "9090" in f["blocked"]["reason"]
    sc["vpc"]["security_groups"][1]["ingress"].append({"port": 9090, "from": "sg:alb"})
    flows = {f["name"]: f for f in ecsnetsim.simulate(
        ecsnetsim.load_scenario(sc)).variants[0]["flows"]}
    assert all(f["delivered"] == f["sent"] > 0 for f in flows.values())


def health_checks_logged(sc: dict) -> Counter:
    """Health-check SYNs (60 bytes each) logged at the task ENIs, by (balancer, port,
    action); a balancer is known by its own ENI's records."""
    v = ecsnetsim.simulate(ecsnetsim.load_scenario(sc)).variants[0]
    lbs = {r["srcaddr"]: r["interface_id"].removeprefix("eni-lb-") for r in v["flow_logs"]
           if r["interface_id"].startswith("eni-lb-")}
    got: Counter = Counter()
    for r in v["flow_logs"]:
        if r["interface_id"].startswith("eni-web") and r["srcaddr"] in lbs \
                and r["bytes"] == 60 * r["packets"]:
            got[lbs[r["srcaddr"]], r["dstport"], r["action"]] += r["packets"]
    return got


def test_flow_logs_record_every_target_groups_health_checks():
    """Each group checks its own port every interval: the task ENIs log the ALB's checks
    to 8080 and 9090 and the NLB's to 9090, as many to each; with 9090 closed to the ALB
    by the tasks' security group, that group's checks are REJECT and 8080's ACCEPT."""
    sc = shop(duration="60s")
    sc["services"][0]["health_check"] = {"interval": "10s"}
    got = health_checks_logged(sc)
    assert set(got) == {("front", 8080, "ACCEPT"), ("front", 9090, "ACCEPT"),
                        ("back", 9090, "ACCEPT")}
    assert len(set(got.values())) == 1 and min(got.values()) > 0
    sc["vpc"]["security_groups"] = [
        {"name": "alb", "ingress": [{"port": 80, "from": "any"}]},
        {"name": "tasks", "ingress": [{"port": 8080, "from": "sg:alb"}]}]
    sc["load_balancers"][0]["security_groups"] = ["alb"]
    sc["services"][0]["security_groups"] = ["tasks"]
    sc["services"][0]["load_balancers"] = sc["services"][0]["load_balancers"][:2]
    sc["traffic"] = sc["traffic"][:2]
    got = health_checks_logged(sc)
    assert set(got) == {("front", 8080, "ACCEPT"), ("front", 9090, "REJECT")}
    assert got["front", 8080, "ACCEPT"] == got["front", 9090, "REJECT"] > 0


def test_one_target_group_is_unchanged_by_the_list_form():
    """``load_balancers`` with one group gives what ``load_balancer`` gives."""
    plain = shop()
    plain["services"][0].pop("load_balancers")
    plain["services"][0]["load_balancer"] = "front"
    plain["traffic"] = [{"name": "in", "from": "client", "to": "web", "via": "front",
                         "rate": "200/s"}]
    listed = shop(traffic=plain["traffic"])
    listed["services"][0]["load_balancers"] = [
        {"load_balancer": "front", "container": "app", "container_port": 8080}]
    a, b = (ecsnetsim.simulate(ecsnetsim.load_scenario(s)).variants[0] for s in (plain, listed))
    assert a["flows"] == b["flows"] and ports_reached(a) == ports_reached(b)


@pytest.mark.parametrize("pattern,path,hit", [
    ("/api/*", "/api/v1/orders", True), ("/api/*", "/API/v1", False),
    ("/img/??.png", "/img/ab.png", True), ("/img/??.png", "/img/abc.png", False),
    ("*.css", "/static/site.css", True), ("/exact", "/exact/", False)])
def test_path_patterns_as_alb_reads_them(pattern, path, hit):
    assert path_matches(pattern, path) is hit


@pytest.mark.parametrize("change,where,words", [
    (lambda s: s["services"][0]["load_balancers"][0].update(load_balancer="nope"),
     "services[0].load_balancers[0].load_balancer", "no load balancer named 'nope'"),
    (lambda s: s["services"][0]["load_balancers"][0].update(container_port=7000),
     "services[0].load_balancers[0].container_port",
     "The container app did not have a container port 7000 defined."),
    (lambda s: s["services"][0]["load_balancers"][2].update(path="/x"),
     "services[0].load_balancers[2].path", "an NLB listener forwards by port only"),
    (lambda s: s["services"][0]["load_balancers"].extend(
        [{"load_balancer": "front", "container_port": 8080, "target_group": f"t{i}"}
         for i in range(3)]),
     "services[0].load_balancers", "at most 5"),
    (lambda s: s["services"][0].update(load_balancer="front"), "services[0]",
     "not both"),
    (lambda s: s["traffic"][1].update(path="/nothing", port=8080),
     "traffic[1].via", "no target group of service 'web' on load balancer 'front'"),
    (lambda s: s["traffic"][2].update(path="/api/x"), "traffic[2].path", "needs via: an ALB"),
])
def test_invalid_target_groups_exit_2(capsys, tmp_path, change, where, words):
    sc = shop()
    change(sc)
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc))
    rc, _out, err = run_cli(capsys, "validate", f)
    assert rc == 2, err
    assert where in err and words in err and "Traceback" not in err


def test_import_passes_target_groups_and_code_deploy_through(capsys, tmp_path):
    out = tmp_path / "shop.yaml"
    rc, _stdout, err = run_cli(capsys, "import", "cloudformation", FIXTURE, "-o", out)
    assert rc == 0, err
    text = out.read_text()
    services = {s["name"]: s for s in yaml.safe_load(text)["services"]}
    groups = services["shop"]["load_balancers"]
    assert [(g["container"], g["container_port"]) for g in groups] == [
        ("storefront", 8080), ("orders", 9090)]
    assert services["api"]["deployment_controller"] == "CODE_DEPLOY"
    assert "not modelled" not in text.split("load_balancers:")[0].split("- name: shop")[1]
    assert "from AWS::ElasticLoadBalancingV2::TargetGroup OrdersTG (shop.yaml)" in text
    # the scenario runs unchanged: each group's flow reaches its container's port
    rc, _stdout, err = run_cli(capsys, "run", out, "-o", tmp_path / "r", "--set",
                               "flow_logs=true")
    assert rc == 0, err
    import json

    v = json.loads((tmp_path / "r" / "results.json").read_text())["variants"][0]
    flows = {f["name"]: f for f in v["flows"]}
    assert all(f["delivered"] > 0 for f in flows.values())
    got: Counter = Counter()
    for r in v["flow_logs"]:
        if r["interface_id"].startswith("eni-shop") and r["start"] >= v["steady_at"]:
            got[r["dstport"]] += r["packets"]
    assert got[8080] >= flows["shop-in"]["delivered"]
    assert got[9090] == flows["shop-in-2"]["delivered"]
