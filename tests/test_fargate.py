"""Fargate: tasks off the cluster's instances, each with its own ENI and subnet IP, sizes
from AWS's table, spread over the subnets' AZs, 500 launches per service per minute."""

from __future__ import annotations

import pytest
from conftest import make_scenario

from ecsnetsim import ScenarioError, load_scenario, simulate
from ecsnetsim.model import fargate


def _fargate(desired: int = 2, **svc) -> dict:
    base = {"name": "s", "desired_count": desired, "network_mode": "awsvpc",
            "launch_type": "FARGATE", "cpu": 256, "memory": 512,
            "containers": [{"name": "app", "port_mappings": [{"container_port": 80}]}]}
    base.update(svc)
    return base


TWO_AZ = {"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "az": "us-east-1a"},
                      {"name": "b", "cidr": "10.0.1.0/24", "az": "us-east-1b"}]}


def test_fargate_tasks_take_nothing_from_the_instances():
    """Five Fargate tasks beside one m5.large all run; the instance keeps its ENI slots,
    CPU and memory (issue: they used to take its ENIs and fail RESOURCE:ENI)."""
    sc = make_scenario(cluster={"instance_groups": [
        {"name": "g", "type": "m5.large", "count": 1, "subnet": "a"}]},
        services=[_fargate(5)])
    v = simulate(sc, workers=1).variants[0]["placement"]
    assert v["services"][0]["running"] == 5 and v["services"][0]["failures"] == {}
    (inst,) = v["instances"]
    assert (inst["tasks"], inst["eni"]["used"], inst["cpu"]["used"], inst["memory"]["used"]) == \
        (0, 1, 0, 0)
    assert v["fargate"]["tasks"] == v["fargate"]["enis"] == v["fargate"]["ips_used"] == 5
    assert v["subnets"][0]["ips_used"] == 5 + 1  # five task ENIs and the instance's own


def test_a_cluster_without_instances_runs_fargate():
    sc = make_scenario(cluster={"instance_groups": []}, services=[_fargate(3)],
                       traffic=[{"name": "in", "to": "s", "rate": "500/s"}], duration=1)
    res = simulate(sc, workers=1)
    v = res.variants[0]
    assert v["placement"]["services"][0]["running"] == 3
    assert v["placement"]["instances"] == []
    (flow,) = v["flows"]
    assert flow["delivered"] > 0 and flow["unreachable"] == 0
    assert flow["path"][-3:] == ["eni", "microvm_nic", "task_stack"]


def test_fargate_spreads_over_the_subnets_azs():
    sc = make_scenario(vpc=TWO_AZ, cluster={"instance_groups": []}, services=[_fargate(7)])
    fg = simulate(sc, workers=1).variants[0]["placement"]["fargate"]
    assert fg["by_az"] == {"us-east-1a": 4, "us-east-1b": 3}
    assert fg["by_subnet"] == {"a": 4, "b": 3}


def test_startup_time_is_fargates_and_can_be_set():
    for delay in (40.0, 12.5):
        sc = make_scenario(cluster={"instance_groups": []}, services=[_fargate(2)],
                           fargate={"task_start_delay": delay})
        v = simulate(sc, workers=1).variants[0]
        assert v["steady_at"] == pytest.approx(delay)
        assert v["placement"]["services"][0]["last_running_at"] == pytest.approx(delay)


def test_fargate_launches_500_tasks_per_service_per_minute():
    sc = make_scenario(vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/20"}]},
                       cluster={"instance_groups": []}, services=[_fargate(600)],
                       fargate={"task_start_delay": 1})
    v = simulate(sc, workers=1).variants[0]
    started = [(e["t"], int(e["message"].split("has started ")[1].split()[0]))
               for e in v["placement"]["events"] if "has started" in e["message"]]
    assert started == [(0.0, fargate.LAUNCH_BATCH), (60.0, 600 - fargate.LAUNCH_BATCH)]


def test_a_full_subnet_stops_fargate_tasks_with_ec2s_error():
    sc = make_scenario(vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/28"}]},
                       cluster={"instance_groups": []}, services=[_fargate(12)], duration=1)
    v = simulate(sc, workers=1).variants[0]["placement"]
    svc = v["services"][0]
    assert svc["running"] == 11  # a /28 has 2^4 - 5 usable addresses
    assert "InsufficientFreeAddressesInSubnet" in svc["launch_failures"]


@pytest.mark.parametrize("cpu, memory, field, fragment", [
    (300, 100, "cpu", "Fargate supports task CPU values"),
    (256, 4096, "memory", "with cpu 256, Fargate supports memory 512, 1024, 2048"),
    (4096, 31744, "memory", "8192-30720 in steps of 1024"),
    (8192, 18432, "memory", "16384-61440 in steps of 4096"),
])
def test_fargate_sizes_follow_awss_table(cpu, memory, field, fragment):
    sc = make_scenario(cluster={"instance_groups": []},
                       services=[_fargate(1, cpu=cpu, memory=memory)])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert err.value.path == f"services[0].{field}"
    assert fragment in err.value.message


def test_every_size_pair_of_the_table_is_accepted():
    pairs = [(c, m) for c, ms in fargate.SIZES.items() for m in ms]
    assert len(pairs) == 74  # Linux Fargate's CPU/memory pairs
    for cpu, memory in pairs:
        assert fargate.size_problem(cpu, memory) is None


def test_windows_on_fargate_needs_one_vcpu():
    win = {"operating_system_family": "WINDOWS_SERVER_2022_CORE"}
    sc = make_scenario(cluster={"instance_groups": []},
                       services=[_fargate(1, cpu=512, memory=1024, runtime_platform=win)])
    with pytest.raises(ScenarioError) as err:
        load_scenario(sc)
    assert err.value.path == "services[0].cpu" and "at least 1024" in err.value.message


def test_arm64_fargate_task_runs_on_an_arm64_micro_vm():
    sc = make_scenario(cluster={"instance_groups": []},
                       services=[_fargate(1, runtime_platform={"cpu_architecture": "ARM64"})])
    res = simulate(sc, workers=1)
    assert res.variants[0]["placement"]["services"][0]["running"] == 1
