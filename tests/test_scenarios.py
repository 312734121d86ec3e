"""The scenario library: every file runs, and its header's expected result is what it gives.

Outcomes of the placement, data-plane and deployment scenarios are checked in their own
test modules; this one runs the rest and makes sure no scenario goes untested.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SCENARIOS

import ecsnetsim
from ecsnetsim import catalog
from ecsnetsim.cli import main

ALL = sorted(SCENARIOS.glob("*.yaml"))


def test_every_scenario_is_checked_by_a_test():
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    for path in ALL:
        assert f'"{path.stem}' in tests, f"no test runs scenarios/{path.name}"


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_every_scenario_has_a_question_and_an_expectation(path):
    head = ecsnetsim.question(path)
    assert head.startswith("Question:") and "\nExpected:" in head
    assert "#" not in head and head == head.strip()


def test_question_of_a_file_without_a_header_is_empty(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("version: 1\n# not a header\n")
    assert ecsnetsim.question(f) == ""
    with pytest.raises(ecsnetsim.InputError, match="no such file"):
        ecsnetsim.question(tmp_path / "missing.yaml")


def test_readme_demo_runs_from_the_cli(tmp_path, capsys):
    assert main(["run", str(SCENARIOS / "awsvpc-eni-density.yaml"), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "RESOURCE:ENI" in out and (tmp_path / "results.json").is_file()


def test_eni_trunking_sizes():
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "eni-trunking-sizes.yaml"))
    for v in res.variants:
        t = catalog.get(v["sweep"]["value"])
        expected = t.trunk_tasks if v["overrides"]["account.awsvpc_trunking"] else \
            t.awsvpc_tasks_without_trunking
        assert v["placement"]["services"][0]["running"] == expected, v["name"]


def test_none_isolation():
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "none-isolation.yaml"))
    v = res.variants[0]
    flows = {f["name"]: f for f in v["flows"]}
    for name in ("to-batch", "web-to-batch"):
        assert flows[name]["sent"] > 0 and flows[name]["unreachable"] == flows[name]["sent"]
    assert flows["to-web"]["delivered"] > 0 and flows["to-web"]["unreachable"] == 0
    batch = next(s for s in v["placement"]["services"] if s["name"] == "batch")
    assert batch["running"] == batch["desired"]
    assert all(i["eni"]["used"] == 1 and not i["ports"]["static"]
               for i in v["placement"]["instances"])


def test_bridge_contention_grows_with_load_before_awsvpc():
    sc = ecsnetsim.load_scenario(SCENARIOS / "bridge-contention.yaml")
    res = ecsnetsim.simulate(sc)

    def curve(group):
        pts = sorted((v["sweep"]["number"], v["flows"][0]) for v in res.variants
                     if v["group"] == group)
        return [f for _, f in pts]

    bridge, awsvpc = curve("bridge"), curve("awsvpc")
    means = [f["latency_us"]["mean"] for f in bridge]
    assert means == sorted(means)  # latency grows with offered load
    assert bridge[-1]["dropped"] > 0 and awsvpc[-1]["dropped"] == 0
    for b, a in zip(bridge, awsvpc, strict=True):
        assert b["latency_us"]["p99"] > a["latency_us"]["p99"]
    # the bottleneck is the instance's shared vCPUs: saturated at the highest bridge load
    def vcpu(v):
        return max(d["utilization"] for d in v["devices"] if d["kind"] == "vcpu_pool"
                   and not d["host"].startswith("client"))
    top = max((v for v in res.variants if v["group"] == "bridge"),
              key=lambda v: v["sweep"]["number"])
    assert vcpu(top) > 0.95
    assert all(vcpu(v) < 0.95 for v in res.variants if v["group"] == "awsvpc")


def test_alb_targets():
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "alb-targets.yaml"))
    paths = {v["name"]: v["flows"][0]["path"] for v in res.variants}
    for p in paths.values():
        assert "alb" in p
    assert "iptables_nat" in paths["bridge"] and "docker0" in paths["bridge"]
    assert "iptables_nat" not in paths["awsvpc"] and "docker0" not in paths["awsvpc"]
    assert len(paths["awsvpc"]) == len(paths["host"]) < len(paths["bridge"])


def test_same_host():
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "same-host.yaml"))
    f = {v["name"]: v["flows"][0] for v in res.variants}
    assert "docker_proxy" in f["bridge"]["path"]
    assert "nic_hairpin" in f["awsvpc"]["path"]
    assert f["host"]["latency_us"]["p50"] < f["awsvpc"]["latency_us"]["p50"]
    assert f["host"]["latency_us"]["p50"] < f["bridge"]["latency_us"]["p50"]
    # docker-proxy's wake-ups: a tail far beyond the card's turn-around
    assert f["bridge"]["latency_us"]["p99"] > f["awsvpc"]["latency_us"]["p99"]
    # the calibration sheet: docker-proxy hairpin round trips, p50 41-42 us (measured)
    assert 38 <= 2 * f["bridge"]["latency_us"]["p50"] <= 50


def test_windows_default():
    """Windows: default (NAT) publishes dynamic ports from 49152-65535 and never loops back;
    awsvpc is bound by ENIs, because Windows hosts do not trunk."""
    sc = ecsnetsim.load_scenario(SCENARIOS / "windows-default.yaml")
    res = ecsnetsim.simulate(sc)
    v = {x["name"]: x for x in res.variants}
    nat, vpc = v["default"], v["awsvpc"]
    svcs = {s["name"]: s for s in nat["placement"]["services"]}
    assert svcs["web"]["running"] == 8 and svcs["agent"]["running"] == 2
    for inst in nat["placement"]["instances"] + vpc["placement"]["instances"]:
        assert not inst["trunked"] and "Linux container instances only" in inst["trunk_reason"]
        assert inst["memory"]["limit"] == 8191  # the ECS guide's Windows figure for 8 GiB
    web = {s["name"]: s for s in vpc["placement"]["services"]}["web"]
    enis = sum(i["eni"]["limit"] - 1 for i in vpc["placement"]["instances"])
    assert web["running"] == enis - 2 and web["failures"] == {"RESOURCE:ENI": 8 - web["running"]}
    flows = {f["name"]: f for f in nat["flows"]}
    assert flows["ingress"]["path"][-4:] == ["winnat", "hns_vswitch", "container_vnic",
                                             "task_stack"]
    same = flows["same-host"]
    assert same["blocked"]["at"].endswith("/winnat") and "loop back" in same["blocked"]["reason"]
    assert same["unreachable"] > 0 and same["delivered"] > 0  # other hosts are reachable
    aws = {f["name"]: f for f in vpc["flows"]}
    assert aws["same-host"]["unreachable"] == 0 and aws["same-host"]["blocked"] is None
    assert flows["ingress"]["hops"]["mean"] - aws["ingress"]["hops"]["mean"] == 3


def test_fargate_vs_ec2():
    """The same awsvpc service: ENI-bound on EC2, branch ENIs with trunking, off the
    cluster on Fargate with one more device (the micro-VM NIC) on its path."""
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / "fargate-vs-ec2.yaml"))
    v = {x["name"]: x for x in res.variants}
    svc = {n: x["placement"]["services"][0] for n, x in v.items()}
    assert (svc["ec2"]["running"], svc["ec2"]["failures"]) == (4, {"RESOURCE:ENI": 2})
    assert svc["ec2-trunking"]["running"] == svc["fargate"]["running"] == 6
    fg = v["fargate"]["placement"]
    assert all(i["tasks"] == 0 and i["eni"]["used"] == 1 for i in fg["instances"])
    assert fg["fargate"]["by_az"] == {"us-east-1a": 3, "us-east-1b": 3}
    assert v["fargate"]["steady_at"] == ecsnetsim.load_scenario(
        SCENARIOS / "fargate-vs-ec2.yaml").fargate.task_start_delay
    ec2_path, fg_path = v["ec2"]["flows"][0]["path"], v["fargate"]["flows"][0]["path"]
    assert fg_path == ec2_path[:-1] + ["microvm_nic", "task_stack"]
    row = next(r for r in res.comparison["flows"] if r["variant"] == "fargate")
    assert row["extra_hops"] == 1
    assert row["overhead_by_kind_us"]["microvm_nic"] == pytest.approx(16.0, abs=0.5)


def _by_name(name: str) -> dict:
    res = ecsnetsim.simulate(ecsnetsim.load_scenario(SCENARIOS / f"{name}.yaml"))
    return {v["name"]: v for v in res.variants}


def test_egress_nat():
    v = _by_name("egress-nat")
    flow = {n: x["flows"][0] for n, x in v.items()}
    for name in ("public bridge", "public host", "private awsvpc nat", "private bridge nat"):
        assert flow[name]["blocked"] is None and flow[name]["delivered"] > 0, name
    assert "never get a public IP" in flow["public awsvpc"]["blocked"]["reason"]
    assert "no route to an internet gateway" in flow["private awsvpc"]["blocked"]["reason"]
    assert flow["private bridge nat"]["hops"]["mean"] - flow["public bridge"]["hops"]["mean"] \
        == 2  # the NAT gateway and the VPC fabric to it
    assert flow["private bridge nat"]["path"][-3:] == ["nat_gateway", "igw", "internet"]


def test_security_groups():
    v = _by_name("security-groups")
    flows = {n: x["flows"][0] for n, x in v.items()}
    assert flows["awsvpc"]["unreachable"] == 0 and flows["bridge hosts-dynamic"][
        "unreachable"] == 0
    stuck = v["bridge hosts-8080"]["placement"]["services"][0]
    assert stuck["running"] == 0 and "ELB:UNHEALTHY" in stuck["failures"]
    assert "hosts-8080" in flows["bridge hosts-8080"]["blocked"]["reason"]
    assert flows["bridge hosts-dynamic"]["path"][-6:] == [
        "eni", "iptables_nat", "host_forward", "docker0", "veth", "task_stack"]


def test_nlb_loopback():
    v = _by_name("nlb-loopback")
    flows = {n: x["flows"][0] for n, x in v.items()}
    looped = flows["bridge instance targets"]
    # the two callers sit on the two backends' instances: half the calls loop back
    assert 0.4 < looped["unreachable"] / looped["sent"] < 0.6
    assert "does not support loopback" in looped["blocked"]["reason"]
    for name in ("bridge no preservation", "awsvpc ip targets"):
        assert flows[name]["unreachable"] == 0 and flows[name]["blocked"] is None


def test_imds_hop_limit():
    v = _by_name("imds-hop-limit")
    flows = {n: x["flows"][0] for n, x in v.items()}
    assert flows["bridge hop 1"]["delivered"] == 0
    assert flows["bridge hop 1"]["blocked"]["at"].endswith("/host-forward")
    for name in ("bridge hop 2", "bridge imdsv1", "host hop 1", "awsvpc hop 1"):
        assert flows[name]["unreachable"] == 0 and flows[name]["path"][-1] == "imds", name


def test_service_discovery():
    v = _by_name("service-discovery")
    records = {n: x["placement"]["service_discovery"][0] for n, x in v.items()}
    assert records["awsvpc A"]["type"] == "A"
    assert all(":" not in r for r in records["awsvpc A"]["records"])
    bridge_ports = [int(r.split(":")[1]) for r in records["bridge SRV"]["records"]]
    assert bridge_ports and all(32768 <= p <= 60999 for p in bridge_ports)
    assert {r.split(":")[1] for r in records["host SRV"]["records"]} == {"8080"}
    for x in v.values():
        assert x["flows"][0]["unreachable"] == 0
