"""Each input rule of a flow and of an event alone: it reports its own problem at its own
path (its first problem, at least down to the field the case names), and no other rule of
its family reports that scenario; loading reports it at that path too (see
:mod:`ecsnetsim.scenario.trafficrules` and ``ecsnetsim.scenario.checks.EVENT_RULES``)."""

from __future__ import annotations

import pytest
from conftest import make_scenario, run_cli

from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import checks, load_scenario, trafficrules
from ecsnetsim.scenario.schema import Scenario
from ecsnetsim.scenario.yamlsrc import format_path

WEB = {"name": "web", "desired_count": 1, "network_mode": "awsvpc", "cpu": 0, "memory": 1,
       "containers": [{"name": "app", "port_mappings": [{"container_port": 8080}]},
                      {"name": "admin", "port_mappings": [{"container_port": 9090}]}]}
BALANCED = dict(WEB, load_balancers=[
    {"load_balancer": "front", "target_group": "api", "container": "app",
     "container_port": 8080, "path": "/api/*"}])
ONE_GROUP = dict(WEB, load_balancer="front")
LBS = [{"name": "front", "type": "alb", "target_type": "ip", "port": 80},
       {"name": "back", "type": "nlb", "target_type": "ip", "port": 9443}]


def flow(**over) -> dict:
    return {"name": "f", "from": "client", "to": "web", "rate": "10/s", **over}


def flow_doc(f: dict, service: dict = WEB) -> dict:
    return make_scenario(duration="1s", services=[service], load_balancers=LBS, traffic=[f])


TRAFFIC_CASES = {
    "_stops_after_it_starts": (flow_doc(flow(start="2s", stop="1s")), ("stop",)),
    "_starts_at_a_client_or_a_service": (flow_doc(flow(**{"from": "nobody"})), ("from",)),
    "_goes_a_known_way": (flow_doc(flow(via="elsewhere")), ("via",)),
    "_leaves_the_vpc_from_tasks_directly": (flow_doc(flow(to="internet")), ("from",)),
    "_reaches_a_known_service": (flow_doc(flow(to="nobody")), ("to",)),
    "_port_is_mapped": (flow_doc(flow(port=7000)), ("port",)),
    "_balancer_registers_the_service": (flow_doc(flow(via="back")), ("via",)),
    "_path_needs_an_alb": (flow_doc(flow(path="/api/x")), ("path",)),
    "_listener_port_needs_a_balancer": (flow_doc(flow(listener_port=80)), ("listener_port",)),
    "_listener_port_is_the_balancers": (flow_doc(flow(via="front", listener_port=81), ONE_GROUP),
                                        ("listener_port",)),
    "_a_target_group_takes_the_flow": (flow_doc(flow(via="front", port=9090), BALANCED), ("via",)),
}


def event_doc(**event) -> dict:
    return make_scenario(duration="10s", events=[{"at": 1, **event}])


EVENT_CASES = {
    "_does_one_thing": (event_doc(deploy="s", scale="s"), ()),
    "_happens_in_the_run": (event_doc(at=20, deploy="s"), ("at",)),
    "_names_a_known_service": (event_doc(scale="nobody", desired_count=2), ("scale",)),
    "_scale_has_a_desired_count": (event_doc(scale="s"), ()),
    "_desired_count_goes_with_scale": (event_doc(deploy="s", desired_count=2), ("desired_count",)),
    "_set_goes_with_deploy": (event_doc(scale="s", desired_count=2, set={"cpu": 1}), ("set",)),
    "_deployed_revision_is_valid": (event_doc(deploy="s", set={"network_mode": "awsvpc",
                                                         "links": ["x"]}), ("set",)),
    "_drains_a_known_group": (event_doc(drain={"group": "nope"}), ("drain", "group")),
}


FAMILIES = {"traffic": (trafficrules.TRAFFIC_RULES, TRAFFIC_CASES),
            "events": (checks.EVENT_RULES, EVENT_CASES)}
ALL = [(family, name) for family, (_, cases) in FAMILIES.items() for name in cases]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_rule_is_tested_here(family):
    rules, cases = FAMILIES[family]
    assert {r.__name__ for r in rules} == set(cases)


@pytest.mark.parametrize(("family", "name"), ALL)
def test_a_rule_reports_its_own_problem_and_no_other_rule_does(family, name):
    rules, cases = FAMILIES[family]
    scenario, field = cases[name]
    sc = Scenario.model_validate(scenario)
    path = (family, 0, *field)
    for rule in rules:
        found = [p for p, _ in rule(sc, 0)]
        if rule.__name__ == name:
            assert found and found[0][:len(path)] == path, found
        else:
            assert found == [], (rule.__name__, found)


@pytest.mark.parametrize(("family", "name"), ALL)
def test_loading_reports_the_rule_at_its_path(family, name):
    scenario, field = FAMILIES[family][1][name]
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert err.value.path.startswith(format_path((family, 0, *field)))


def test_valid_flows_pass_every_rule():
    sc = Scenario.model_validate(make_scenario(
        duration="1s", services=[BALANCED], load_balancers=LBS,
        traffic=[flow(via="front", path="/api/orders"), flow(name="g", port=9090),
                 {"name": "out", "from": "web", "to": "internet", "rate": "1/s"}]))
    assert [p for i in range(3) for rule in trafficrules.TRAFFIC_RULES
            for p in rule(sc, i)] == []


def test_a_listener_port_of_one_target_group_is_the_balancers_or_the_test_listener():
    blue_green = dict(ONE_GROUP, deployment_controller="CODE_DEPLOY",
                      blue_green={"test_listener_port": 8443})
    ports = (80, 8443, 81)
    sc = Scenario.model_validate(make_scenario(
        duration="1s", services=[blue_green], load_balancers=LBS,
        traffic=[flow(name=f"f{p}", via="front", listener_port=p) for p in ports]))
    found = [[msg for rule in trafficrules.TRAFFIC_RULES for _, msg in rule(sc, i)]
             for i in range(len(ports))]
    assert found[:2] == [[], []]
    assert found[2] == ["load balancer 'front' has no listener on port 81 for service 'web'; "
                        "expected its listener port 80 or service 'web''s test listener port "
                        "8443"]


def test_a_listener_port_no_listener_has_is_exit_2_with_file_path_and_line(tmp_path, capsys):
    import yaml

    path = tmp_path / "listener.yaml"
    path.write_text(yaml.safe_dump(flow_doc(flow(via="front", listener_port=81), ONE_GROUP),
                                   sort_keys=False))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if "listener_port: 81" in text)
    rc, out, err = run_cli(capsys, "run", path, "-o", tmp_path / "out", "--no-plots")
    assert rc == 2 and "Traceback" not in err
    assert f"{path}:{line}" in err and "traffic[0].listener_port" in err
    assert "no listener on port 81" in err and not (tmp_path / "out").exists()


def test_an_unknown_service_is_reported_once():
    sc = Scenario.model_validate(event_doc(deploy="nobody", desired_count=3, set={"cpu": 1}))
    found = [p for rule in checks.EVENT_RULES for p in rule(sc, 0)]
    assert found == [(("events", 0, "deploy"), found[0][1])]
    assert "no service named 'nobody'" in found[0][1]


def test_valid_events_pass_every_rule():
    sc = Scenario.model_validate(make_scenario(duration="10s", events=[
        {"at": 1, "deploy": "s", "set": {"cpu": 8}}, {"at": 2, "scale": "s", "desired_count": 3},
        {"at": 3, "drain": {"group": "g", "count": 1}}]))
    assert [p for i in range(3) for rule in checks.EVENT_RULES for p in rule(sc, i)] == []
