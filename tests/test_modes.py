"""The network-mode plug-in contract, run over every registered mode.

Every cell of ECS's network-mode table (Linux EC2, Windows EC2, Fargate x each mode)
either runs (tasks place, packets reach them unless the mode has no interface) or is
rejected at load with AWS's reason. Nothing here names a mode: the registry says what
exists and where it is allowed.
"""

from __future__ import annotations

import json

import pytest
from conftest import make_scenario

import ecsnetsim
from ecsnetsim import ScenarioError, load_scenario, modes, simulate
from ecsnetsim.cli import main

CELLS = [(name, platform) for name in modes.MODES for platform in modes.PLATFORMS]


def _cell(name: str, platform: tuple[str, str]) -> dict:
    """One service of mode ``name`` on ``platform`` with a client flow to its port."""
    launch, os = platform
    mode = modes.get(name)
    svc = {"name": "s", "desired_count": 2, "network_mode": name, "launch_type": launch,
           "cpu": 1024 if os == "windows" and launch == "FARGATE" else 256,
           "memory": 2048 if os == "windows" and launch == "FARGATE" else 512,
           "runtime_platform": {"operating_system_family":
                                "LINUX" if os == "linux" else "WINDOWS_SERVER_2022_CORE"},
           "containers": [{"name": "app", "port_mappings": [{"container_port": 80}]
                           if mode.port_mappings_allowed else []}]}
    groups = [] if launch == "FARGATE" else [
        {"name": "g", "type": "m5.xlarge", "count": 2, "os": os, "subnet": "a"}]
    flow = [{"name": "in", "to": "s", "rate": "200/s"}] if mode.port_mappings_allowed else []
    return make_scenario(duration=0.5, cluster={"instance_groups": groups}, services=[svc],
                         traffic=flow)


@pytest.mark.parametrize("name, platform", CELLS)
def test_every_cell_runs_or_is_rejected_with_aws_reason(name, platform):
    mode = modes.get(name)
    if not mode.allows(*platform):
        with pytest.raises(ScenarioError) as err:
            load_scenario(_cell(name, platform))
        assert err.value.path == "services[0].network_mode"
        assert "only supports network mode" in err.value.message
        return
    res = simulate(_cell(name, platform), workers=1)
    svc = res.variants[0]["placement"]["services"][0]
    assert svc["running"] == 2, svc
    for flow in res.variants[0]["flows"]:
        assert flow["delivered"] > 0, (name, platform, flow)
        assert flow["hops"]["min"] == len(flow["path"])


def test_modes_have_distinct_names_labels_and_colours():
    ms = list(modes.MODES.values())
    for attr in ("name", "label", "colour"):
        values = [getattr(m, attr) for m in ms]
        assert len(set(values)) == len(values), attr
    assert all(m.platforms for m in ms)
    assert modes.baseline() in modes.MODES


def test_each_os_has_one_default_mode():
    for os in ("linux", "windows"):
        assert modes.default_for(os) in modes.MODES
        assert modes.get(modes.default_for(os)).allows("EC2", os)


def test_schema_lists_the_registry(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    prop = schema["$defs"]["Service"]["properties"]["network_mode"]
    listed = next(t["enum"] for t in prop["anyOf"] if "enum" in t)
    assert listed == list(modes.MODES)


@pytest.mark.parametrize("name", list(modes.MODES))
def test_compare_shorthand_rewrites_mappings_as_the_mode_requires(name):
    """``compare: {network_mode: [...]}`` turns a bridge service with a static and a
    dynamic mapping into one every mode accepts."""
    sc = make_scenario(services=[{
        "name": "s", "network_mode": "bridge", "cpu": 0, "memory": 1,
        "containers": [{"name": "c", "port_mappings": [
            {"container_port": 80, "host_port": 8080}, {"container_port": 81}]}]}],
        compare={"network_mode": [name]})
    (variant,) = ecsnetsim.scenario.variants_of(load_scenario(sc))
    svc = variant.scenario.services[0]
    assert svc.network_mode == name
    for pm in svc.containers[0].port_mappings:
        assert modes.get(name).port_mapping_problem(pm) is None


def test_modes_command_prints_the_table(capsys):
    assert main(["modes"]) == 0
    out = capsys.readouterr().out
    for name in modes.MODES:
        assert name in out
    lines = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    for name, cells in modes.table():
        assert lines[name].count("yes") == sum(cells.values())
