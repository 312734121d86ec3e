"""Placement through the public API: the ECS facts come out of simulated placement."""

from __future__ import annotations

import json
import math

import pytest
from conftest import SCENARIOS, make_scenario

import ecsnetsim
from ecsnetsim import catalog


def run(sc, **kw) -> ecsnetsim.Results:
    return ecsnetsim.simulate(sc, **kw)


def svc_row(res, variant=None, service=None):
    v = res.variant(variant) if variant else res.variants[0]
    rows = v["placement"]["services"]
    return next(r for r in rows if service is None or r["name"] == service)


def tasks_per_instance(res, variant=None):
    v = res.variant(variant) if variant else res.variants[0]
    return [i["tasks"] for i in v["placement"]["instances"]]


# ---- the fact-sheet scenarios ---------------------------------------------------------

def test_c5_large_runs_2_awsvpc_tasks_and_10_with_trunking():
    res = run(ecsnetsim.load_scenario(SCENARIOS / "awsvpc-eni-density.yaml"))
    c5 = catalog.get("c5.large")
    sc = ecsnetsim.load_scenario(SCENARIOS / "awsvpc-eni-density.yaml")
    count = sc.cluster.instance_groups[0].count
    desired = sc.services[0].desired_count
    plain = svc_row(res, "account.awsvpc_trunking=false")
    trunk = svc_row(res, "account.awsvpc_trunking=true")
    assert plain["running"] == min(desired, count * (c5.max_enis - 1)) == 4
    assert plain["failures"] == {"RESOURCE:ENI": desired - plain["running"]}
    assert tasks_per_instance(res, "account.awsvpc_trunking=false") == [2, 2]
    assert trunk["running"] == min(desired, count * c5.trunk_tasks) == 12
    insts = res.variant("account.awsvpc_trunking=true")["placement"]["instances"]
    assert all(i["trunked"] and i["eni"]["used"] == 2 for i in insts)
    assert sum(i["branch_eni"]["used"] for i in insts) == 12


def test_static_host_port_needs_one_instance_per_copy():
    res = run(ecsnetsim.load_scenario(SCENARIOS / "static-vs-dynamic-ports.yaml"))
    static = svc_row(res, "static-80")
    assert static["running"] == 3 and static["failures"] == {"RESOURCE:PORTS": 3}
    assert tasks_per_instance(res, "static-80") == [1, 1, 1]
    for inst in res.variant("static-80")["placement"]["instances"]:
        assert inst["ports"]["static"] == ["80/tcp"]
    events = [e["message"] for e in res.variant("static-80")["placement"]["events"]]
    assert any("is already using a port required by your task" in m for m in events)
    assert svc_row(res, "dynamic")["running"] == 6


def test_dynamic_ports_come_from_the_configured_range_in_order():
    sc = make_scenario(
        cluster={"instance_groups": [{"name": "g", "type": "c5.xlarge", "count": 1,
                                      "agent": {"dynamic_port_range": "40000-40009"}}]},
        services=[{"name": "s", "desired_count": 12, "network_mode": "bridge", "cpu": 0,
                   "memory": 1, "containers": [{"name": "c", "port_mappings": [
                       {"container_port": 80, "host_port": 0}]}]}])
    res = run(sc)
    row = svc_row(res)
    # the range holds 10 ports: ten copies run, two wait for a port
    assert row["running"] == 10 and row["failures"] == {"RESOURCE:PORTS": 2}
    inst = res.variants[0]["placement"]["instances"][0]
    assert inst["ports"]["dynamic_used"] == 10 and inst["ports"]["static"] == []


def test_dynamic_port_density_is_bound_by_cpu():
    sc = ecsnetsim.load_scenario(SCENARIOS / "dynamic-port-density.yaml")
    res = run(sc)
    t = catalog.get(sc.cluster.instance_groups[0].type)
    per_instance = t.vcpus * 1024 // sc.services[0].cpu
    row = svc_row(res)
    assert row["running"] == per_instance * sc.cluster.instance_groups[0].count == 40
    assert row["failures"] == {"RESOURCE:CPU": sc.services[0].desired_count - 40}


def test_host_mode_one_copy_per_port_per_instance():
    res = run(ecsnetsim.load_scenario(SCENARIOS / "host-mode-density.yaml"))
    api = svc_row(res, service="api")
    assert api["running"] == 4 and api["failures"] == {"RESOURCE:PORTS": 2}
    assert svc_row(res, service="metrics")["running"] == 4
    for inst in res.variants[0]["placement"]["instances"]:
        assert inst["ports"]["static"] == ["8080/tcp", "9100/tcp"]


def test_subnet_runs_out_of_ips_at_usable_minus_instance_ips():
    sc = ecsnetsim.load_scenario(SCENARIOS / "subnet-exhaustion.yaml")
    res = run(sc)
    prefix = int(sc.vpc.subnets[0].cidr.split("/")[1])
    usable = 2 ** (32 - prefix) - 5
    hosts = sc.cluster.instance_groups[0].count
    row = svc_row(res)
    assert row["running"] == usable - 2 * hosts == 5
    # placement succeeds; the task ENI cannot be created (ECS reports it after placement)
    assert row["failures"] == {"InsufficientFreeAddressesInSubnet":
                               sc.services[0].desired_count - row["running"]}
    assert row["launch_failures"]["InsufficientFreeAddressesInSubnet"] >= 7
    subnet = res.variants[0]["placement"]["subnets"][0]
    assert subnet["ips_free"] == 0 and subnet["ips_used"] == usable
    # the tasks waiting to retry say, for every instance, why they are not there: where the
    # last attempt failed, that failure; elsewhere, what placement says or the back-off
    assert row["unplaced"] == row["desired"] - row["running"]
    instances = {i["id"] for i in res.variants[0]["placement"]["instances"]}
    for task in res.variants[0]["placement"]["unplaced"]:
        assert set(task["why_not"]) == instances
        failed = [w for w in task["why_not"].values()
                  if w.startswith("InsufficientFreeAddressesInSubnet")]
        assert failed and all(subnet["name"] in w for w in failed)
        assert all(w in failed or w.startswith(("RESOURCE:", "fits; the service waits out"))
                   for w in task["why_not"].values())


def test_binpack_fills_instances_spread_balances_them():
    sc = ecsnetsim.load_scenario(SCENARIOS / "binpack-vs-spread.yaml")
    res = run(sc)
    mem = catalog.get("m5.large").memory_mib
    fit = int(mem * (1 - 2.52 / 100)) // sc.services[0].memory
    binpack = sorted(tasks_per_instance(res, "binpack-memory"), reverse=True)
    assert binpack == [fit] * (6 // fit) + [0] * (4 - 6 // fit)
    spread = tasks_per_instance(res, "spread-instance")
    assert max(spread) - min(spread) <= 1 and sum(spread) == 6
    insts = res.variant("default-spread-az")["placement"]["instances"]
    per_az = {}
    for i in insts:
        per_az[i["az"]] = per_az.get(i["az"], 0) + i["tasks"]
    assert sorted(per_az.values()) == [3, 3]


# ---- density of every catalog type and every trunking row -----------------------------

def _density(type_name: str, trunk: bool, desired: int) -> dict:
    sc = make_scenario(
        account={"awsvpc_trunking": trunk},
        cluster={"instance_groups": [{"name": "g", "type": type_name, "count": 1}]},
        services=[{"name": "s", "desired_count": desired, "network_mode": "awsvpc", "cpu": 0,
                   "memory": 1}])
    return svc_row(run(sc))


def test_untrunked_density_of_every_catalog_type_is_max_enis_minus_one():
    for t in catalog.all_types():
        row = _density(t.name, False, t.max_enis + 1)
        assert row["running"] == t.max_enis - 1, t.name
        assert row["failures"] == {"RESOURCE:ENI": t.max_enis + 1 - row["running"]}, t.name


def test_trunked_density_of_every_trunking_row():
    table = catalog.trunking_table()
    checked = 0
    for name, (_without, _with) in table.items():
        try:
            t = catalog.get(name)
        except catalog.UnknownInstanceType:
            continue  # in the ECS table but not in the EC2 data: cannot be launched
        expected = t.trunk_tasks if t.trunk_tasks is not None else t.max_enis - 1
        row = _density(name, True, expected + 1)
        assert row["running"] == expected, name
        assert row["failures"] == {"RESOURCE:ENI": 1}, name
        checked += 1
    assert checked >= 430


def test_scenario_can_override_the_trunk_limit():
    sc = make_scenario(
        account={"awsvpc_trunking": True},
        cluster={"instance_groups": [{"name": "g", "type": "t3.large", "count": 1,
                                      "trunk_tasks": 7}]},
        services=[{"name": "s", "desired_count": 9, "network_mode": "awsvpc", "cpu": 0,
                   "memory": 1}])
    assert catalog.get("t3.large").trunk_tasks is None
    assert svc_row(run(sc))["running"] == 7


# ---- constraints ----------------------------------------------------------------------

def _two_az(services, counts=(2, 2), **over):
    return make_scenario(
        vpc={"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "az": "us-east-1a"},
                         {"name": "b", "cidr": "10.0.1.0/24", "az": "us-east-1b"}]},
        cluster={"instance_groups": [
            {"name": "ga", "type": "m5.large", "count": counts[0], "subnet": "a",
             "attributes": {"stack": "prod"}},
            {"name": "gb", "type": "m5.large", "count": counts[1], "subnet": "b"}]},
        services=services, **over)


def test_distinct_instance_constraint():
    res = run(_two_az([{"name": "s", "desired_count": 6, "cpu": 0, "memory": 1,
                        "placement_constraints": [{"type": "distinctInstance"}]}]))
    row = svc_row(res)
    assert row["running"] == 4 and row["failures"] == {"CONSTRAINT": 2}
    assert tasks_per_instance(res) == [1, 1, 1, 1]


@pytest.mark.parametrize("expression,expect_group", [
    ("attribute:ecs.availability-zone == us-east-1b", "gb"),
    ("attribute:stack == prod", "ga"),
    ("attribute:stack !exists", "gb"),
    ("attribute:ecs.instance-type =~ m5.* and not(attribute:ecs.availability-zone in "
     "[us-east-1a])", "gb"),
])
def test_member_of_constraint(expression, expect_group):
    res = run(_two_az([{"name": "s", "desired_count": 4, "cpu": 0, "memory": 1,
                        "placement_constraints": [{"type": "memberOf",
                                                   "expression": expression}]}]))
    insts = res.variants[0]["placement"]["instances"]
    assert sum(i["tasks"] for i in insts) == 4
    assert all(i["group"] == expect_group for i in insts if i["tasks"])


def test_member_of_task_group_colocates_services():
    res = run(_two_az([
        {"name": "db", "desired_count": 1, "cpu": 0, "memory": 1,
         "placement_constraints": [{"type": "memberOf",
                                    "expression": "ec2InstanceId == " + _first_id()}]},
        {"name": "cache", "desired_count": 1, "cpu": 0, "memory": 1,
         "placement_constraints": [{"type": "memberOf",
                                    "expression": "task:group == service:db"}]}]))
    insts = res.variants[0]["placement"]["instances"]
    assert [i["tasks"] for i in insts] == [2, 0, 0, 0]


def _first_id() -> str:
    from ecsnetsim.model.instance import instance_id

    return instance_id("t", "ga", 0)


def test_strategies_chain_spread_az_then_binpack():
    res = run(_two_az([{"name": "s", "desired_count": 4, "cpu": 0, "memory": 2048,
                        "placement_strategy": [
                            {"type": "spread", "field": "attribute:ecs.availability-zone"},
                            {"type": "binpack", "field": "memory"}]}]))
    # two per AZ, packed onto one instance of each AZ
    assert sorted(tasks_per_instance(res)) == [0, 0, 2, 2]


def test_random_strategy_is_reproducible_by_seed():
    sc = _two_az([{"name": "s", "desired_count": 6, "cpu": 0, "memory": 1,
                   "placement_strategy": [{"type": "random"}]}])
    a = run(sc, seed=3).to_json()
    assert a == run(sc, seed=3).to_json()
    layouts = {tuple(tasks_per_instance(run(sc, seed=s))) for s in range(8)}
    assert len(layouts) > 1  # the seed really drives the draw


# ---- failure reasons and explanations ---------------------------------------------------

@pytest.mark.parametrize("service,group,reason", [
    ({"cpu": 4096, "memory": 1}, {}, "RESOURCE:CPU"),
    ({"cpu": 0, "memory": 9000}, {}, "RESOURCE:MEMORY"),
    ({"cpu": 0, "memory": 1, "containers": [{"name": "c", "port_mappings": [
        {"container_port": 22, "host_port": 22}]}]}, {}, "RESOURCE:PORTS"),
    ({"cpu": 0, "memory": 1, "network_mode": "awsvpc", "desired_count": 3}, {}, "RESOURCE:ENI"),
    ({"cpu": 0, "memory": 1}, {"os": "windows"}, "ATTRIBUTE"),
])
def test_failure_reasons(service, group, reason):
    svc = {"name": "s", "desired_count": 1, "network_mode": "bridge", **service}
    g = {"name": "g", "type": "c5.large", "count": 1, **group}
    res = run(make_scenario(cluster={"instance_groups": [g]}, services=[svc]))
    row = svc_row(res)
    assert reason in row["failures"]
    unplaced = res.variants[0]["placement"]["unplaced"]
    inst_ids = [i["id"] for i in res.variants[0]["placement"]["instances"]]
    assert unplaced and all(set(u["why_not"]) == set(inst_ids) for u in unplaced)
    assert all(u["why_not"][inst_ids[0]].startswith(reason) for u in unplaced)


def test_location_failure_when_task_subnets_are_in_another_az():
    sc = _two_az([{"name": "s", "desired_count": 1, "network_mode": "awsvpc", "cpu": 0,
                   "memory": 1, "subnets": ["b"]}], counts=(1, 0))
    assert svc_row(run(sc))["failures"] == {"LOCATION": 1}


def test_no_instances_event():
    sc = make_scenario(cluster={"instance_groups": []})
    res = run(sc)
    assert svc_row(res)["pending"] == 1
    assert any("No Container Instances were found" in e["message"]
               for e in res.variants[0]["placement"]["events"])


def test_reserved_ports_are_never_handed_out():
    for port in (22, 2375, 2376, 51678, 51679):
        sc = make_scenario(services=[{"name": "s", "desired_count": 1, "network_mode": "host",
                                      "cpu": 0, "memory": 1, "containers": [
                                          {"name": "c", "port_mappings": [
                                              {"container_port": port}]}]}])
        assert svc_row(run(sc))["failures"] == {"RESOURCE:PORTS": 1}


def test_100_reserved_port_limit():
    # 5 agent ports + 95 static ports fit; one more port is "too many ports registered"
    maps = [{"container_port": 1000 + i, "host_port": 1000 + i} for i in range(95)]
    ok = make_scenario(services=[{"name": "s", "desired_count": 1, "cpu": 0, "memory": 1,
                                  "containers": [{"name": "c", "port_mappings": maps}]}])
    assert svc_row(run(ok))["running"] == 1
    maps.append({"container_port": 2000, "host_port": 2000})
    bad = make_scenario(services=[{"name": "s", "desired_count": 1, "cpu": 0, "memory": 1,
                                   "containers": [{"name": "c", "port_mappings": maps}]}])
    res = run(bad)
    assert svc_row(res)["failures"] == {"RESOURCE:PORTS": 1}
    why = next(iter(res.variants[0]["placement"]["unplaced"][0]["why_not"].values()))
    assert "too many ports registered" in why


def test_tcp_and_udp_ports_are_held_apart():
    maps = [{"container_port": 53, "protocol": "udp"}]
    sc = make_scenario(services=[
        {"name": "dns-udp", "desired_count": 1, "network_mode": "host", "cpu": 0, "memory": 1,
         "containers": [{"name": "c", "port_mappings": maps}]},
        {"name": "dns-tcp", "desired_count": 1, "network_mode": "host", "cpu": 0, "memory": 1,
         "containers": [{"name": "c", "port_mappings": [{"container_port": 53}]}]}])
    res = run(sc)
    assert [r["running"] for r in res.variants[0]["placement"]["services"]] == [1, 1]


# ---- time ---------------------------------------------------------------------------------

def test_awsvpc_tasks_wait_for_eni_attachment():
    sc = make_scenario(
        cluster={"instance_groups": [{"name": "g", "type": "c5.large", "count": 1,
                                      "agent": {"eni_attach_delay": "3s",
                                                "container_start_delay": "0.5s"}}]},
        services=[{"name": "s", "desired_count": 1, "network_mode": "awsvpc", "cpu": 0,
                   "memory": 1}])
    res = run(sc)
    assert res.variants[0]["steady_at"] == pytest.approx(3.5)
    bridge = make_scenario(services=[{"name": "s", "desired_count": 1, "cpu": 0, "memory": 1}])
    assert run(bridge).variants[0]["steady_at"] == pytest.approx(1.0)


def test_launch_rate_is_250_tasks_per_service_per_minute():
    desired = 600
    sc = make_scenario(
        cluster={"instance_groups": [{"name": "g", "type": "m5.24xlarge", "count": 1}]},
        services=[{"name": "s", "desired_count": desired, "cpu": 0, "memory": 1}])
    res = run(sc)
    batches = math.ceil(desired / 250)
    assert res.variants[0]["steady_at"] == pytest.approx(60 * (batches - 1) + 1.0)
    starts = [e for e in res.variants[0]["placement"]["events"] if "has started" in e["message"]]
    assert [e["t"] for e in starts] == [60.0 * b for b in range(batches)]
    assert "has started 250 tasks" in starts[0]["message"]


def test_same_seed_same_bytes(tmp_path):
    sc = ecsnetsim.load_scenario(SCENARIOS / "binpack-vs-spread.yaml")
    a, b = tmp_path / "a", tmp_path / "b"
    run(sc, seed=5).save(a)
    run(sc, seed=5).save(b)
    for name in ("results.json", "placement.csv", "flows.csv", "devices.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    doc = json.loads((a / "results.json").read_text())
    assert doc["seed"] == 5 and doc["scenario"]["sha256"]
