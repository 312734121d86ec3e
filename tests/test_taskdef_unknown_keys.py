"""A task definition key that the ECS API does not define is refused, as the AWS CLI
refuses it before sending anything ("Parameter validation failed: Unknown parameter in
containerDefinitions[0]: "portBindings", must be one of: name, image, ..."; the keys are
those of the ECS API model, botocore's ``ecs/2014-11-13/service-2.json``), with the JSON
file, the field path, its line and a did-you-mean; exit status 2 from the command line.
Keys of ``describe-task-definition`` output (``taskDefinitionArn``, ``revision``,
``status``, ``requiresAttributes``, ``compatibilities``, ``registeredAt``, the ``tags``
beside ``taskDefinition``) are the API's too and pass.
"""

from __future__ import annotations

import json

import pytest
from conftest import make_scenario, run_cli

from ecsnetsim.errors import ScenarioError
from ecsnetsim.scenario import load_scenario
from ecsnetsim.scenario.taskdef import task_definition_fields

WEB = {"family": "web", "containerDefinitions": [
    {"name": "app", "image": "nginx", "memory": 128, "portMappings": [{"containerPort": 80}]}]}


def _scenario(tmp_path, td: dict) -> tuple[dict, str]:
    path = tmp_path / "td.json"
    path.write_text(json.dumps(td, indent=2))
    doc = make_scenario()
    doc["services"] = [{"name": "s", "desired_count": 1, "task_definition": str(path)}]
    return doc, str(path)


def _line_of(path: str, text: str) -> int:
    return next(n for n, line in enumerate(open(path).read().splitlines(), 1) if text in line)


@pytest.mark.parametrize("where, key, field, meant", [
    (("containerDefinitions", 0), "portBindings", "containerDefinitions[0].portBindings",
     "portMappings"),
    (("containerDefinitions", 0, "portMappings", 0), "hostport",
     "containerDefinitions[0].portMappings[0].hostport", "hostPort"),
    ((), "netwrokMode", "netwrokMode", "networkMode"),
    (("containerDefinitions", 0), "memoryReservations",
     "containerDefinitions[0].memoryReservations", "memoryReservation"),
    (("containerDefinitions", 0), "env", "containerDefinitions[0].env", "environment"),
])
def test_unknown_key_is_refused_with_its_line_and_what_was_meant(tmp_path, where, key, field,
                                                                 meant):
    td = json.loads(json.dumps(WEB))
    node = td
    for part in where:
        node = node[part]
    node[key] = 80 if key == "hostport" else "bridge" if key == "netwrokMode" else []
    doc, path = _scenario(tmp_path, td)
    with pytest.raises(ScenarioError) as err:
        load_scenario(doc)
    e = err.value
    assert (e.file, e.path, e.line) == (path, field, _line_of(path, f'"{key}"'))
    assert f'Unknown parameter in {field.rsplit(".", 1)[0] if "." in field else "input"}: ' \
        f'"{key}" (did you mean {meant!r}?)' in e.message
    assert "the AWS CLI refuses" in e.message


def test_a_static_port_written_as_port_bindings_no_longer_vanishes(tmp_path, capsys):
    """The issue's case: ``portBindings`` was dropped silently, and with it the static
    port 8080; now the run stops with exit status 2 and says where."""
    td = json.loads(json.dumps(WEB))
    td["containerDefinitions"][0]["portBindings"] = [{"containerPort": 80, "hostPort": 8080}]
    doc, path = _scenario(tmp_path, td)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(json.dumps(doc))
    rc, _, err = run_cli(capsys, "validate", scenario)
    assert rc == 2
    assert f"{path}:{_line_of(path, 'portBindings')}: containerDefinitions[0].portBindings: " \
        "Unknown parameter" in err
    assert "did you mean 'portMappings'?" in err and "Traceback" not in err


def test_describe_task_definition_output_passes(tmp_path):
    td = {"taskDefinition": {
        **WEB, "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2"],
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
        "registeredAt": "2024-01-01T00:00:00Z", "registeredBy": "arn:aws:iam::1:root",
        "volumes": [{"name": "data", "host": {"sourcePath": "/data"}}]},
        "tags": [{"key": "team", "value": "web"}]}
    td["taskDefinition"]["containerDefinitions"][0].update(
        logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "web"}},
        healthCheck={"command": ["CMD", "true"], "interval": 30}, dockerLabels={"a": "b"})
    doc, _ = _scenario(tmp_path, td)
    assert load_scenario(doc).services[0].containers[0].port_mappings[0].container_port == 80


def test_unknown_key_inside_a_nested_structure_and_beside_the_describe_output(tmp_path):
    td = {"taskDefinition": json.loads(json.dumps(WEB)), "tag": []}
    doc, path = _scenario(tmp_path, td)
    with pytest.raises(ScenarioError) as err:
        load_scenario(doc)
    assert err.value.path == "tag" and "(did you mean 'tags'?)" in err.value.message
    td = json.loads(json.dumps(WEB))
    td["containerDefinitions"][0]["logConfiguration"] = {"logDriver": "awslogs",
                                                         "option": {}}
    doc, path = _scenario(tmp_path, td)
    with pytest.raises(ScenarioError) as err:
        load_scenario(doc)
    assert err.value.path == "containerDefinitions[0].logConfiguration.option"
    assert "(did you mean 'options'?)" in err.value.message


def test_the_importers_say_an_unknown_key_instead_of_refusing_it():
    """Terraform's provider drops keys of container_definitions that the API does not
    define before ECS sees them: an imported one is said in a comment and ignored."""
    td = json.loads(json.dumps(WEB))
    td["containerDefinitions"][0]["portBindings"] = []
    fields, warnings = task_definition_fields(json.dumps(td).encode(), "main.tf",
                                              unknown_keys="warn")
    assert fields["containers"][0]["port_mappings"] == [{"container_port": 80}]
    assert warnings == ["main.tf: containerDefinitions[0].portBindings: not a key of an ECS "
                        "task definition (did you mean 'portMappings'?); ignored"]
