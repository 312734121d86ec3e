"""Each input rule of an event alone: it reports its own problem at its own path, and no
other rule reports that event (see ``ecsnetsim.scenario.checks.EVENT_RULES``)."""

from __future__ import annotations

import pytest
from conftest import make_scenario

from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import checks, load_scenario
from ecsnetsim.scenario.schema import Scenario
from ecsnetsim.scenario.yamlsrc import format_path


def doc(**event) -> dict:
    return make_scenario(duration="10s", events=[{"at": 1, **event}])


CASES = {
    "_does_one_thing": (doc(deploy="s", scale="s"), ()),
    "_happens_in_the_run": (doc(at=20, deploy="s"), ("at",)),
    "_names_a_known_service": (doc(scale="nobody", desired_count=2), ("scale",)),
    "_scale_has_a_desired_count": (doc(scale="s"), ()),
    "_desired_count_goes_with_scale": (doc(deploy="s", desired_count=2), ("desired_count",)),
    "_set_goes_with_deploy": (doc(scale="s", desired_count=2, set={"cpu": 1}), ("set",)),
    "_deployed_revision_is_valid": (doc(deploy="s", set={"network_mode": "awsvpc",
                                                         "links": ["x"]}), ("set",)),
    "_drains_a_known_group": (doc(drain={"group": "nope"}), ("drain", "group")),
}


def test_every_rule_is_tested_here():
    assert {r.__name__ for r in checks.EVENT_RULES} == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_a_rule_reports_its_own_problem_and_no_other_rule_does(name):
    scenario, field = CASES[name]
    sc = Scenario.model_validate(scenario)
    for rule in checks.EVENT_RULES:
        found = [p for p, _ in rule(sc, 0)]
        if rule.__name__ == name:
            assert found and found[0][:2 + len(field)] == ("events", 0, *field), found
        else:
            assert found == [], (rule.__name__, found)


@pytest.mark.parametrize("name", list(CASES))
def test_loading_reports_the_rule_at_its_path(name):
    scenario, field = CASES[name]
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert err.value.path.startswith(format_path(("events", 0, *field)))


def test_an_unknown_service_is_reported_once():
    sc = Scenario.model_validate(doc(deploy="nobody", desired_count=3, set={"cpu": 1}))
    found = [p for rule in checks.EVENT_RULES for p in rule(sc, 0)]
    assert found == [(("events", 0, "deploy"), found[0][1])]
    assert "no service named 'nobody'" in found[0][1]


def test_valid_events_pass_every_rule():
    sc = Scenario.model_validate(make_scenario(duration="10s", events=[
        {"at": 1, "deploy": "s", "set": {"cpu": 8}}, {"at": 2, "scale": "s", "desired_count": 3},
        {"at": 3, "drain": {"group": "g", "count": 1}}]))
    assert [p for i in range(3) for rule in checks.EVENT_RULES for p in rule(sc, i)] == []
