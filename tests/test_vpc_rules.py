"""Each of the VPC's input rules alone: it reports its own problem at its own path, and no
other rule reports that scenario (the rules are small and named so that each can be read
and tested by itself; :func:`load_scenario` runs them all, in order)."""

from __future__ import annotations

import pytest
from conftest import make_scenario

from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import checks, load_scenario
from ecsnetsim.scenario.schema import Scenario
from ecsnetsim.scenario.yamlsrc import format_path

A = {"name": "a", "cidr": "10.0.0.0/16", "az": "us-east-1a"}

CASES = {
    "_names_are_unique": (
        {"vpc": {"subnets": [A], "security_groups": [{"name": "x"}, {"name": "x"}]}},
        ("vpc", "security_groups", 1, "name")),
    "_subnets_fit_the_vpc": (
        {"vpc": {"subnets": [A, {"name": "b", "cidr": "10.0.128.0/24", "az": "us-east-1b"}]}},
        ("vpc", "subnets", 1, "cidr")),
    "_nat_gateways_sit_in_subnets": (
        {"vpc": {"subnets": [A], "nat_gateways": [{"name": "n", "subnet": "nowhere"}]}},
        ("vpc", "nat_gateways", 0, "subnet")),
    "_security_group_rules_are_valid": (
        {"vpc": {"subnets": [A], "security_groups": [
            {"name": "w", "ingress": [{"port": 80, "from": "sg:missing"}]}]}},
        ("vpc", "security_groups", 0, "ingress", 0, "from")),
    "_instance_groups_name_known_groups": (
        {"cluster": {"instance_groups": [{"name": "g", "type": "c5.large", "count": 1,
                                          "subnet": "a", "security_groups": ["nope"]}]}},
        ("cluster", "instance_groups", 0, "security_groups", 0)),
    "_load_balancers_are_placeable": (
        {"load_balancers": [{"name": "lb", "type": "alb", "scheme": "internet-facing",
                             "subnets": ["a"]}]},
        ("load_balancers", 0, "scheme")),
}


def _model(doc: dict) -> Scenario:
    """The scenario as the schema reads it, before the rules run."""
    return Scenario.model_validate(make_scenario(**doc))


def test_every_rule_is_tested_here():
    assert {r.__name__ for r in checks.VPC_RULES} == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_a_rule_reports_its_own_problem_and_no_other_rule_does(name):
    doc, path = CASES[name]
    sc = _model(doc)
    for rule in checks.VPC_RULES:
        found = [p for p, _ in rule(sc)]
        assert (path in found) == (rule.__name__ == name), (rule.__name__, found)


@pytest.mark.parametrize("name", list(CASES))
def test_loading_reports_the_rule_at_its_path(name):
    doc, path = CASES[name]
    with pytest.raises(ScenarioError) as err:
        load_scenario(make_scenario(**doc))
    assert err.value.path == format_path(path)


def test_a_valid_vpc_passes_every_rule():
    sc = _model({"vpc": {"subnets": [A], "security_groups": [
        {"name": "w", "ingress": [{"port": 80, "from": "10.0.0.0/8"}]}]}})
    assert [p for rule in checks.VPC_RULES for p in rule(sc)] == []
