"""Task definitions read as RegisterTaskDefinition reads them, and placement failures in
ECS's words (sources: ECS Developer Guide, "Task placement constraints": distinctInstance
is not allowed in a task definition; RegisterTaskDefinition API reference:
requiresCompatibilities and Fargate's task-level cpu and memory; the service event
messages for constraint failures, "encountered error \"MemberOf placement constraint
unsatisfied.\"")."""

from __future__ import annotations

import json

import numpy as np
import pytest
import simpy
from conftest import make_scenario

from ecsnetsim.control.scheduler import Cluster
from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import load_scenario

WEB = {"family": "web", "containerDefinitions": [
    {"name": "app", "image": "nginx", "memory": 128,
     "portMappings": [{"containerPort": 80}]}]}


def _with_taskdef(tmp_path, taskdef: dict, **svc) -> dict:
    path = tmp_path / "td.json"
    path.write_text(json.dumps(taskdef))
    doc = make_scenario()
    doc["services"] = [{"name": "s", "desired_count": 1, "task_definition": str(path), **svc}]
    return doc


def test_empty_requires_compatibilities_means_ec2(tmp_path):
    sc = load_scenario(_with_taskdef(tmp_path, {**WEB, "requiresCompatibilities": []}))
    assert sc.services[0].launch_type == "EC2"
    with pytest.raises(ScenarioError, match="none, which means EC2"):
        load_scenario(_with_taskdef(tmp_path, {**WEB, "requiresCompatibilities": [],
                                               "networkMode": "awsvpc"},
                                    launch_type="FARGATE"))


@pytest.mark.parametrize("missing", ["cpu", "memory"])
def test_fargate_needs_task_level_cpu_and_memory(tmp_path, missing):
    td = {**WEB, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
          "cpu": "256", "memory": "512"}
    del td[missing]
    with pytest.raises(ScenarioError) as err:
        load_scenario(_with_taskdef(tmp_path, td))
    assert f"td.json: {missing}: Fargate requires that '{missing}' be defined at the task " \
        "level" in str(err.value)


def test_distinct_instance_is_refused_in_a_task_definition(tmp_path):
    td = {**WEB, "placementConstraints": [{"type": "distinctInstance"}]}
    with pytest.raises(ScenarioError) as err:
        load_scenario(_with_taskdef(tmp_path, td))
    assert "td.json: placementConstraints[0].type: " in str(err.value)
    assert "memberOf only" in str(err.value)
    ok = {**WEB, "placementConstraints": [
        {"type": "memberOf", "expression": "attribute:ecs.instance-type == c5.large"}]}
    assert load_scenario(_with_taskdef(tmp_path, ok)).services[0].placement_constraints


@pytest.mark.parametrize("constraint, words", [
    ({"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"},
     "MemberOf placement constraint unsatisfied."),
    ({"type": "distinctInstance"}, "DistinctInstance placement constraint unsatisfied."),
])
def test_constraint_failures_in_ecs_words(constraint, words):
    doc = make_scenario()
    doc["services"][0].update(desired_count=2, placement_constraints=[constraint])
    env = simpy.Environment()
    cluster = Cluster(load_scenario(doc), env, np.random.default_rng(1))
    env.run(until=3600)
    messages = [e.message for e in cluster.log]
    failing = [m for m in messages if "unable to place a task" in m]
    assert failing and all(f'encountered error "{words}"' in m for m in failing), failing
