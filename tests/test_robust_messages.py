"""What is left of "robust under hostile input": every message in the project's own words,
cut to a readable length, pointing at the line where the bad value is written (or naming
``--set``); task definitions and API overrides read within the loader's bounds; and the
nonsense AWS itself refuses (a task without memory, a name ECS does not accept, an empty
scenario) refused with AWS's reason.

Each case goes through ``load_scenario`` or ``ecsnetsim validate`` as a user would.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from pathlib import Path

import pytest
import yaml
from conftest import make_scenario

from ecsnetsim import ScenarioError, load_scenario
from ecsnetsim.cli import main
from ecsnetsim.errors import MAX_LINE, MAX_SHOWN, InputError
from ecsnetsim.scenario.yamlsrc import MAX_DEPTH, MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = (ROOT / "scenarios" / "static-vs-dynamic-ports.yaml").read_text().split("compare:")[0]

#: What pydantic says that a scenario's author should never read.
PYDANTIC = ("Input should", "Extra inputs", "Field required", "pydantic",
            "https://errors.pydantic.dev", "should have at", "valid dictionary",
            "valid integer", "Value error,", "after validation")


def validate(capsys, path: Path, *sets: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["validate", str(path), *(f"--set={s}" for s in sets)])
    return rc, capsys.readouterr().err


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ---- pydantic's wording never reaches the user ------------------------------------------------

HOSTILE = [float("nan"), float("inf"), -1, 0, 10 ** 39, 2.5, "abc", "", [], {}, None, True,
           [1, 2], {"x": 1}, "x" * 300]


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
            yield path + (k,)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))


def _mutants(count: int, seed: int):
    """``count`` scenarios from ``scenarios/``, each with one field replaced by a hostile
    value, one unknown key added or one field removed; seeded."""
    rng = random.Random(seed)
    docs = [yaml.safe_load(p.read_text()) for p in SCENARIOS]
    for _ in range(count):
        doc = copy.deepcopy(rng.choice(docs))
        path = rng.choice(list(_leaves(doc)))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        how = rng.random()
        if how < 0.8:
            parent[path[-1]] = copy.deepcopy(rng.choice(HOSTILE))
        elif how < 0.9 and isinstance(parent, dict):
            parent["unknwon"] = 1
        elif isinstance(parent, dict):
            del parent[path[-1]]
        yield doc


def test_no_message_uses_pydantics_wording_or_runs_long():
    """400 seeded mutants (a few seconds): every one loads or fails with a message that
    says what was expected in the project's words, each line at most MAX_LINE long."""
    failed = 0
    for doc in _mutants(400, seed=14):
        try:
            load_scenario(doc)
        except ScenarioError as exc:
            failed += 1
            text = str(exc)
            assert not [p for p in PYDANTIC if p in text], text
            assert all(len(line) <= MAX_LINE + 40 for line in text.splitlines()), text
    assert failed > 200  # the mutants are mostly invalid: the check above did run


@pytest.mark.parametrize("change, path, expected", [
    ({"seed": "abc"}, "seed", "expected a whole number, got 'abc'"),
    ({"seed": 2.5}, "seed", "expected a whole number, got 2.5"),
    ({"seed": -1}, "seed", "must be at least 0 (got -1)"),
    ({"replications": 5000}, "replications", "must be at most 1000 (got 5000)"),
    ({"steady_horizon": 0}, "steady_horizon", "must be above 0"),
    ({"flow_logs": "maybe"}, "flow_logs", "expected true or false, got 'maybe'"),
    ({"name": ""}, "name", "must not be empty"),
    ({"name": 5}, "name", "expected text, got 5"),
    ({"version": 2}, "version", "expected 1 (got 2)"),
    ({"vpc": [1]}, "vpc", "expected a mapping of fields (key: value), got a list of 1 item"),
    ({"services": {"a": 1}}, "services", "expected a list, got a mapping of 1 item"),
    ({"compare": [1]}, "compare", "expected a mapping (key: value), got a list of 1 item"),
    ({"sweep": {"seed": [1], "duration": [1]}}, "sweep", "must have at most 1 item"),
    ({"sweep": {"seed": []}}, "sweep.seed", "must not be empty"),
    ({"vpc": {"subnets": []}}, "vpc.subnets", "must not be empty"),
    ({"vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24", "route": "x"}]}},
     "vpc.subnets[0].route", "expected local, igw or nat:<gateway name> (got 'x')"),
    ({"vpc": {"subnets": [{"name": "a"}]}}, "vpc.subnets[0].cidr", "required field is missing"),
    ({"services": [{"name": "s", "memory": 64, "cpu": 0, "placement_strategy": [
        {"type": "random"}] * 6}]}, "services[0].placement_strategy",
     "must have at most 5 items (got a list of 6 items)"),
    ({"services": [{"name": "s", "memory": 64, "cpu": 0, "colour": 1}]}, "services[0].colour",
     "unknown key 'colour'; expected one of: name, desired_count"),
    ({"cluster": {"instance_groups": [{"name": "g", "type": "c5.large",
                                       "memory_overhead_percent": "x"}]}},
     "cluster.instance_groups[0].memory_overhead_percent", "expected a number, got 'x'"),
    ({"services": [{"name": "s", "memory": 64, "cpu": 0, "runtime_platform": {
        "operating_system_family": "BEOS"}}]},
     "services[0].runtime_platform.operating_system_family",
     "expected LINUX or WINDOWS_SERVER_<release>_<FULL|CORE>"),
])
def test_each_schema_error_in_the_projects_words(change, path, expected):
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(**change))
    assert info.value.path == path and expected in info.value.message, str(info.value)


def test_an_event_that_sets_a_bad_field_is_in_the_projects_words():
    sc = make_scenario(events=[{"at": 1, "deploy": "s", "set": {"cpu": "lots"}}])
    with pytest.raises(ScenarioError) as info:
        load_scenario(sc)
    assert info.value.path == "events[0].set.cpu"
    assert info.value.message == "cpu: expected a whole number, got 'lots'"


# ---- long values are cut ----------------------------------------------------------------------

def test_a_100_kb_value_is_cut_to_a_readable_length(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("desired_count: 6", "desired_count: " + "x" * 100_000))
    rc, err = validate(capsys, f)
    assert rc == 2 and len(err) < 500, err[:600]
    assert f"{f}:{line_of(f.read_text(), 'desired_count')}: services[0].desired_count: " \
           "expected a whole number, got 'xxx" in err
    assert "…(100,002 characters)" in err  # the value with its quotes


def test_a_5000_item_list_is_named_not_printed(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("desired_count: 6", "desired_count: [" + ", ".join(
        ["1"] * 5000) + "]"))
    rc, err = validate(capsys, f)
    assert rc == 2 and len(err) < 300, err[:400]
    assert "expected a whole number, got a list of 5,000 items" in err


def test_a_long_name_echoed_by_a_cross_field_check_is_cut(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + "traffic: [{name: f, to: " + "y" * 100_000 + "}]\n")
    rc, err = validate(capsys, f)
    assert rc == 2 and len(err) < 600 and "characters)" in err, err[:700]
    assert "traffic[0].to: no service named 'yyy" in err


def test_five_thousand_names_to_choose_from_are_summed_up():
    groups = [{"name": f"g{i}", "type": "c5.large", "count": 0} for i in range(5000)]
    sc = make_scenario(cluster={"instance_groups": groups},
                       events=[{"at": 1, "drain": {"group": "nope"}}])
    with pytest.raises(ScenarioError) as info:
        load_scenario(sc)
    assert "... and 4,988 more]" in info.value.message and len(str(info.value)) < 400


def test_every_input_error_is_cut_in_one_place():
    """Whatever a message is built from, no line of it is longer than MAX_LINE."""
    err = InputError("bad: " + "z" * 50_000 + "\nsecond line", path="p" * 5000)
    lines = str(err).splitlines()
    assert len(lines) == 2 and lines[1] == "second line"
    assert len(lines[0]) < MAX_LINE + MAX_SHOWN + 60 and "…(50,005 characters)" in lines[0]


# ---- what AWS refuses and what a scenario needs -----------------------------------------------

def test_a_task_without_memory_is_refused_with_aws_reason(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("memory: 512", "memory: 0"))
    rc, err = validate(capsys, f)
    assert rc == 2
    assert err.startswith(f"ecsnetsim: error: {f}:{line_of(f.read_text(), 'memory: 0')}: "
                          "services[0].memory: a task must reserve memory")
    assert "At least one of 'memory' or 'memoryReservation' must be specified" in err


def test_a_deployment_to_memory_0_is_refused_too():
    sc = make_scenario(events=[{"at": 1, "deploy": "s", "set": {"memory": 0}}])
    with pytest.raises(ScenarioError) as info:
        load_scenario(sc)
    assert info.value.path == "events[0].set.memory"
    assert "a task must reserve memory" in info.value.message


def test_a_scenario_with_nothing_to_simulate_is_refused(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.split("cluster:")[0] + "services: []\n")
    rc, err = validate(capsys, f)
    assert rc == 2
    assert f"{f}:{line_of(f.read_text(), 'services')}: services: a scenario needs at least " \
           "one service" in err


def test_instances_without_services_still_show_what_they_register():
    assert load_scenario(make_scenario(services=[])).services == []


@pytest.mark.parametrize("name, why", [
    ("../x/y", "it contains '.', '/'"), ("web service", "it contains ' '"),
    ("s" * 256, "256 characters"), ("ñ", "it contains 'ñ'")])
def test_names_ecs_does_not_accept(name, why):
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(services=[{"name": name, "cpu": 0, "memory": 64}]))
    assert info.value.path == "services[0].name"
    assert "is not one ECS accepts: up to 255 letters, numbers, underscores and hyphens" in \
        info.value.message and why in info.value.message


def test_container_names_follow_the_same_rule():
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(services=[{"name": "s", "cpu": 0, "memory": 64,
                                               "containers": [{"name": "a.b"}]}]))
    assert info.value.path == "services[0].containers[0].name"


# ---- errors point at the line of the bad value -----------------------------------------------

COMPARE_BLOCK = """\
compare:
  services[0].desired_count:
    - 2
    - 3
    - many
"""

VARIANTS_BLOCK = """\
compare:
  variants:
    - name: small
      set: {}
    - name: big
      set:
        services[0].cpu: 512
        services[0].memory: lots
"""

SWEEP_BLOCK = """\
sweep:
  services[0].cpu:
    - 256
    - -5
"""


@pytest.mark.parametrize("block, needle, path, prefix", [
    (COMPARE_BLOCK, "- many", "services[0].desired_count",
     "in variant 'services[0].desired_count=many' (compare.services[0].desired_count[2]): "
     "expected a whole number, got 'many'"),
    (VARIANTS_BLOCK, "memory: lots", "services[0].memory",
     "in variant 'big' (compare.variants[1].set.services[0].memory): expected a whole "
     "number, got 'lots'"),
    (SWEEP_BLOCK, "- -5", "services[0].cpu",
     "in variant 'cpu=-5' (sweep.services[0].cpu[1]): must be at least 0 (got -5)"),
])
def test_a_bad_variant_value_is_reported_at_its_own_line(tmp_path, capsys, block, needle,
                                                         path, prefix):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + block)
    rc, err = validate(capsys, f)
    assert rc == 2
    assert err == f"ecsnetsim: error: {f}:{line_of(f.read_text(), needle)}: {path}: {prefix}\n"


def test_a_product_of_two_compare_keys_points_at_the_bad_one(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + "compare:\n  services[0].cpu: [256, 512]\n"
                         "  services[0].memory:\n    - 512\n    - -1\n")
    rc, err = validate(capsys, f)
    assert rc == 2 and f"{f}:{line_of(f.read_text(), '- -1')}: services[0].memory:" in err


def test_a_variant_that_breaks_another_field_points_at_the_variant(tmp_path, capsys):
    """Fargate makes the bridge network mode invalid: the line is the value that did it."""
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + "compare:\n  services[0].launch_type:\n    - EC2\n    - FARGATE\n")
    rc, err = validate(capsys, f)
    assert rc == 2
    assert f"{f}:{line_of(f.read_text(), '- FARGATE')}: services[0].network_mode: " in err
    assert "in variant 'services[0].launch_type=FARGATE' (compare.services[0].launch_type[1])" \
        in err


@pytest.mark.parametrize("assignment, fragment", [
    ('compare={"services[0].desired_count": [1, x]}', "in variant "
     "'services[0].desired_count=x' (--set compare="),
    ('sweep={"services[0].cpu": [1, -1]}', "cpu=-1' (--set sweep="),
    ("services[0].cpu=abc", "services[0].cpu: --set services[0].cpu=abc: expected a whole "
                            "number, got 'abc'"),
])
def test_a_bad_value_from_set_names_set_not_a_line(tmp_path, capsys, assignment, fragment):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + COMPARE_BLOCK.replace("many", "4"))  # the file has a compare line
    rc, err = validate(capsys, f, assignment)
    assert rc == 2 and fragment in err, err
    assert err.startswith(f"ecsnetsim: error: {f}: ")  # no line of the file


# ---- task definitions and API overrides within the loader's bounds ---------------------------

TD_SCENARIO = SMALL.replace("""    network_mode: bridge
    cpu: 256
    memory: 512
    containers:
      - name: nginx
        port_mappings: [{container_port: 80, host_port: 80}]
""", "    task_definition: td.json\n")


def td_error(tmp_path: Path, content: str | bytes) -> ScenarioError:
    (tmp_path / "s.yaml").write_text(TD_SCENARIO)
    data = content.encode() if isinstance(content, str) else content
    (tmp_path / "td.json").write_bytes(data)
    start = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert time.monotonic() - start < 10
    return info.value


def test_a_huge_task_definition_is_refused_at_the_scenario_line(tmp_path):
    err = td_error(tmp_path, '{"containerDefinitions": [{"name": "' + "x" * MAX_FILE_BYTES
                   + '"}]}')
    assert err.file == str(tmp_path / "s.yaml")
    assert (err.path, err.line) == ("services[0].task_definition",
                                    line_of(TD_SCENARIO, "task_definition"))
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in err.message and "td.json" in err.message


@pytest.mark.parametrize("content, fragment", [
    ("[" * 100_000 + "]" * 100_000, f"nested more than {MAX_DEPTH} levels deep"),
    ('{"memory": ' + "9" * 5000 + ', "containerDefinitions": [{"name": "a"}]}',
     "a whole number of 5,000 digits"),
    ('{"memory": NaN, "containerDefinitions": [{"name": "a"}]}', "NaN is not a number"),
    ('{"memory": 1e400, "containerDefinitions": [{"name": "a"}]}', "memory inf is not a number"),
    ('{"containerDefinitions": [{"name": "a", "memory": 3}]}',
     "containerDefinitions[0].memory: 3 MiB is below the 6 MiB Docker reserves"),
    ('{"containerDefinitions": [{"name": "a"}]}',
     "containerDefinitions[0]: Invalid setting for container 'a'. At least one of 'memory' or "
     "'memoryReservation' must be specified"),
    ('{"containerDefinitions": [{"name": "a", "memory": 64, "memoryReservation": 128}]}',
     "memory (64) must be greater than memoryReservation (128)"),
    ('{"memory": 100, "containerDefinitions": [{"name": "a", "memory": 64}, '
     '{"name": "b", "memoryReservation": 64}]}',
     "memory: Invalid 'memory' setting for task: the containers reserve 128 MiB"),
    ('{"cpu": 64, "memory": 512, "containerDefinitions": [{"name": "a"}]}',
     "cpu: Invalid 'cpu' setting for task"),
    ('{"containerDefinitions": []}', "Container list cannot be empty"),
    ('{"runtimePlatform": "LINUX", "containerDefinitions": [{"name": "a", "memory": 64}]}',
     "runtimePlatform: expected a JSON object"),
    (b"\xff\xfe{}", "not a UTF-8 text file"),
])
def test_a_hostile_task_definition_gets_a_clean_error_naming_it(tmp_path, content, fragment):
    err = td_error(tmp_path, content)
    assert err.file == str(tmp_path / "td.json"), str(err)
    assert fragment in err.message and "(the task definition of services[0])" in err.message


def test_a_task_definition_fifo_does_not_block(tmp_path):
    (tmp_path / "s.yaml").write_text(TD_SCENARIO)
    os.mkfifo(tmp_path / "td.json")
    start = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert time.monotonic() - start < 5
    assert "is a FIFO (named pipe)" in info.value.message
    assert info.value.path == "services[0].task_definition"


def test_a_task_definition_with_a_bom_and_crlf_loads(tmp_path):
    doc = json.dumps({"containerDefinitions": [{"name": "a", "memory": 64}]}, indent=1)
    (tmp_path / "s.yaml").write_text(TD_SCENARIO)
    (tmp_path / "td.json").write_bytes(b"\xef\xbb\xbf" + doc.replace("\n", "\r\n").encode())
    assert load_scenario(tmp_path / "s.yaml").services[0].memory == 64


def laughs(levels: int = 10) -> str:
    parts = ["&a0 [l,l,l,l,l,l,l,l,l]"]
    parts += [f"&a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize("value, fragment", [
    (laughs(), "aliases repeat more than"),
    ("[" * 10_000 + "]" * 10_000, "nested more than"),
    ("9" * 5000, "a whole number of 5,000 digits"),
])
def test_api_overrides_are_read_within_the_bounds(value, fragment):
    start = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load_scenario(ROOT / "scenarios" / "static-vs-dynamic-ports.yaml",
                      overrides=[f"seed={value}"])
    assert time.monotonic() - start < 10
    assert info.value.message.startswith("--set seed=") and fragment in info.value.message
    assert len(str(info.value)) < 400


def test_a_huge_list_index_in_a_path_is_an_error_not_a_crash():
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(), overrides=["services[" + "9" * 5000 + "].cpu=1"])
    assert "too large" in info.value.message


@pytest.mark.parametrize("text, line, hint", [
    ("version: 1\nname: t\n\tseed: 1\n", 3, "a tab; YAML indents with spaces"),
    ("version: 1\nname: a: b\n", 2, "a ': ' inside a value: quote the value"),
    ("version: 1\nvpc:\n  subnets:\n  - a\n - b\n", 5, "the indentation does not match"),
])
def test_yaml_syntax_errors_say_what_they_usually_mean(tmp_path, capsys, text, line, hint):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    rc, err = validate(capsys, f)
    assert rc == 2 and err.startswith(f"ecsnetsim: error: {f}:{line}: not valid YAML: ")
    assert hint in err


def test_an_empty_path_says_so(capsys):
    rc, err = validate(capsys, "")
    assert rc == 2 and err == "ecsnetsim: error: no scenario file named: the path is empty\n"


def test_a_5000_digit_seed_on_the_command_line_is_cut(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", str(SCENARIOS[0]), "--seed", "9" * 5000])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "…(5,002 characters)" in err and len(err) < 1000


def test_a_dict_nested_100000_deep_given_to_the_api_is_refused():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    sc = {"version": 1, "name": "t", "vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}]},
          "services": deep}
    with pytest.raises(ScenarioError) as info:
        load_scenario(sc)
    assert f"nested more than {MAX_DEPTH} levels deep" in info.value.message
    assert info.value.path.startswith("services[0][0]") and len(str(info.value)) < 300


def test_a_million_variants_are_refused_before_any_is_built(tmp_path, capsys):
    """Three compared fields of 100 values once held validate for a quarter of an hour."""
    values = "[" + ", ".join(str(i) for i in range(1, 101)) + "]"
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + "compare:\n" + "".join(
        f"  {k}: {values}\n" for k in ("seed", "services[0].desired_count", "services[0].cpu")))
    start = time.monotonic()
    rc, err = validate(capsys, f)
    assert time.monotonic() - start < 10
    assert rc == 2 and err.startswith(f"ecsnetsim: error: {f}:{line_of(f.read_text(), 'compare:')}"
                                      ": compare: compare and sweep make 1,000,000 variants")


def test_many_deploy_events_over_many_services_validate_quickly():
    """Each deploy event once looked its service up by comparing whole models (6 s here)."""
    services = [{"name": f"s{i}", "desired_count": 0, "cpu": 0, "memory": 6}
                for i in range(3000)]
    events = [{"at": 1, "deploy": f"s{i}", "set": {"cpu": 1}} for i in range(2400, 3000)]
    start = time.monotonic()
    load_scenario(make_scenario(services=services, events=events))
    assert time.monotonic() - start < 3
