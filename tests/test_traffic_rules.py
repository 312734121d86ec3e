"""Each input rule of a flow alone: it reports its own problem at its own path, and no
other rule reports that flow (see :mod:`ecsnetsim.scenario.trafficrules`)."""

from __future__ import annotations

import pytest
from conftest import make_scenario

from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import load_scenario, trafficrules
from ecsnetsim.scenario.schema import Scenario
from ecsnetsim.scenario.yamlsrc import format_path

WEB = {"name": "web", "desired_count": 1, "network_mode": "awsvpc", "cpu": 0, "memory": 1,
       "containers": [{"name": "app", "port_mappings": [{"container_port": 8080}]},
                      {"name": "admin", "port_mappings": [{"container_port": 9090}]}]}
BALANCED = dict(WEB, load_balancers=[
    {"load_balancer": "front", "target_group": "api", "container": "app",
     "container_port": 8080, "path": "/api/*"}])
LBS = [{"name": "front", "type": "alb", "target_type": "ip", "port": 80},
       {"name": "back", "type": "nlb", "target_type": "ip", "port": 9443}]


def flow(**over) -> dict:
    return {"name": "f", "from": "client", "to": "web", "rate": "10/s", **over}


def doc(f: dict, service: dict = WEB) -> dict:
    return make_scenario(duration="1s", services=[service], load_balancers=LBS, traffic=[f])


CASES = {
    "_stops_after_it_starts": (doc(flow(start="2s", stop="1s")), ("stop",)),
    "_starts_at_a_client_or_a_service": (doc(flow(**{"from": "nobody"})), ("from",)),
    "_goes_a_known_way": (doc(flow(via="elsewhere")), ("via",)),
    "_leaves_the_vpc_from_tasks_directly": (doc(flow(to="internet")), ("from",)),
    "_reaches_a_known_service": (doc(flow(to="nobody")), ("to",)),
    "_port_is_mapped": (doc(flow(port=7000)), ("port",)),
    "_balancer_registers_the_service": (doc(flow(via="back")), ("via",)),
    "_path_needs_an_alb": (doc(flow(path="/api/x")), ("path",)),
    "_listener_port_needs_a_balancer": (doc(flow(listener_port=80)), ("listener_port",)),
    "_a_target_group_takes_the_flow": (doc(flow(via="front", port=9090), BALANCED), ("via",)),
}


def test_every_rule_is_tested_here():
    assert {r.__name__ for r in trafficrules.TRAFFIC_RULES} == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_a_rule_reports_its_own_problem_and_no_other_rule_does(name):
    scenario, field = CASES[name]
    sc = Scenario.model_validate(scenario)
    for rule in trafficrules.TRAFFIC_RULES:
        found = [p for p, _ in rule(sc, 0)]
        assert (("traffic", 0, *field) in found) == (rule.__name__ == name), (
            rule.__name__, found)
        if rule.__name__ != name:
            assert found == [], (rule.__name__, found)


@pytest.mark.parametrize("name", list(CASES))
def test_loading_reports_the_rule_at_its_path(name):
    scenario, field = CASES[name]
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert err.value.path == format_path(("traffic", 0, *field))


def test_valid_flows_pass_every_rule():
    sc = Scenario.model_validate(make_scenario(
        duration="1s", services=[BALANCED], load_balancers=LBS,
        traffic=[flow(via="front", path="/api/orders"), flow(name="g", port=9090),
                 {"name": "out", "from": "web", "to": "internet", "rate": "1/s"}]))
    assert [p for i in range(3) for rule in trafficrules.TRAFFIC_RULES
            for p in rule(sc, i)] == []
