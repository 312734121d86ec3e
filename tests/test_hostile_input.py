"""Input bounded by value, names that stay text wherever written, a budget checked
before the work it bounds, and mistakes answered with the fix: each through the CLI,
exit status 2, file, field path and line, no traceback."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
import yaml
from conftest import SCENARIOS, make_scenario

from ecsnetsim import load_scenario, simulate
from ecsnetsim.cli import main
from ecsnetsim.cost import estimate
from ecsnetsim.errors import ScenarioError
from ecsnetsim.results import spreadsheet_safe


def _file(tmp_path, doc: dict | str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def _refused(capsys, argv: list[str]) -> str:
    """Run the CLI expecting exit status 2 and one clean message; return stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    return err


def _line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ---- bounds by value ----------------------------------------------------------------------

def test_a_hex_seed_of_4000_digits_is_refused_at_its_line(tmp_path, capsys):
    doc = yaml.safe_dump(make_scenario(seed=1), sort_keys=False)
    path = _file(tmp_path, doc.replace("seed: 1", "seed: 0x" + "f" * 4000))
    err = _refused(capsys, ["validate", str(path)])
    assert f"s.yaml:{_line_of(path, 'seed:')}: seed: a whole number of about 4,817 " \
           "decimal digits; expected at most 40 digits" in err
    err = _refused(capsys, ["run", str(path), "-o", str(tmp_path / "o"), "--no-plots"])
    assert "decimal digits" in err and not (tmp_path / "o").exists()


def test_a_seed_above_128_bits_is_refused_by_value(tmp_path, capsys):
    path = _file(tmp_path, make_scenario(seed=2**128))
    err = _refused(capsys, ["validate", str(path)])
    assert f"seed: must be at most {2**128 - 1}" in err
    ok = _file(tmp_path, make_scenario(seed=2**128 - 1), "ok.yaml")
    assert main(["validate", str(ok)]) == 0


def test_a_hundred_digit_seed_on_the_command_line_is_refused(tmp_path, capsys):
    path = _file(tmp_path, make_scenario())
    err = _refused(capsys, ["run", str(path), "--seed", "9" * 100, "--no-plots",
                            "-o", str(tmp_path / "o")])
    assert "--seed: expected a whole number >= 0 and <= " in err and "100 digits" in err
    err = _refused(capsys, ["run", str(path), "--seed", str(2**128), "--no-plots",
                            "-o", str(tmp_path / "o")])
    assert str(2**128) in err


# ---- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("where, value", [
    (("cluster", "instance_groups", 0, "name"), '=HYPERLINK("http://x","y")'),
    (("vpc", "subnets", 0, "name"), "@SUM(1)"),
    (("vpc", "subnets", 0, "az"), "+us-east-1a"),
    (("cluster", "instance_groups", 0, "name"), "g" * 256),
])
def test_names_outside_the_safe_set_are_refused(tmp_path, capsys, where, value):
    doc = make_scenario()
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    if where[-1] == "name" and where[0] == "vpc":
        doc["cluster"]["instance_groups"][0]["subnet"] = value
    err = _refused(capsys, ["validate", str(_file(tmp_path, doc))])
    path = ".".join(str(p) for p in where).replace(".0.", "[0].")
    assert path in err, err


def test_a_flow_and_a_variant_named_as_a_formula_are_refused(tmp_path, capsys):
    doc = make_scenario(traffic=[{"name": "-1+2", "to": "s", "rate": "10/s"}])
    err = _refused(capsys, ["validate", str(_file(tmp_path, doc))])
    assert "traffic[0].name" in err
    doc = make_scenario(compare={"variants": [{"name": "=cmd|' /C calc'!A0", "set": {}}]})
    path = _file(tmp_path, doc)
    err = _refused(capsys, ["validate", str(path)])
    assert "compare.variants[0].name" in err and "starting with a letter or digit" in err


def test_a_variant_named_by_a_long_compared_value_is_refused(tmp_path, capsys):
    """A variant's name made of the values it compares is bounded like a name of its own:
    a 100,000-character one cost 87 s and 1.6 GB in the figures."""
    doc = make_scenario(compare={"description": ["x" * 100_000, "short"]})
    path = _file(tmp_path, doc)
    err = _refused(capsys, ["validate", str(path)])
    assert "compare.description[0]: the variant this value makes would be named with " \
           "100,012 characters; at most 255" in err


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(tmp_path):
    """A service name ECS accepts may start with '-': every CSV cell that starts as a
    formula does is written with a single quote in front (OWASP), numbers unchanged."""
    assert spreadsheet_safe("-web") == "'-web" and spreadsheet_safe(-1.5) == -1.5
    assert [spreadsheet_safe(x) for x in ("=1", "+1", "@a", "\tx", "\rx", "a=b")] == \
        ["'=1", "'+1", "'@a", "'\tx", "'\rx", "a=b"]
    doc = make_scenario(services=[{"name": "-web", "desired_count": 1,
                                   "network_mode": "bridge", "cpu": 0, "memory": 1}])
    res = simulate(load_scenario(doc), workers=1)
    written = res.save(tmp_path / "out", plots=False)
    cells = [c for p in written if p.suffix == ".csv"
             for row in csv.reader(io.StringIO(p.read_text())) for c in row]
    assert "'-web" in cells
    for c in cells:
        if c and c[0] in "=+-@\t\r":
            float(c)  # only numbers start that way unquoted


# ---- the budget before the work --------------------------------------------------------

def test_a_ten_thousand_point_sweep_is_refused_before_its_variants_are_built(tmp_path, capsys):
    doc = make_scenario(sweep={"services[0].desired_count": list(range(1, 10_001))})
    path = _file(tmp_path, doc)
    start = time.perf_counter()
    err = _refused(capsys, ["validate", str(path)])
    took = time.perf_counter() - start
    assert "10,000 variants" in err and "--force" in err
    assert took < 10  # building them all takes tens of seconds and a gigabyte
    _refused(capsys, ["run", str(path), "-o", str(tmp_path / "o"), "--no-plots"])
    err = _refused(capsys, ["run", str(_file(tmp_path, make_scenario(
        sweep={"services[0].desired_count": list(range(1, 41))}), "forty.yaml")),
        "--precision", "5%", "-o", str(tmp_path / "o"), "--no-plots"])
    assert "40 variants" in err  # each may run 30 times with --precision


def test_precision_prices_the_replications_it_may_add():
    sc = load_scenario(SCENARIOS / "compare-modes.yaml")
    once, most = estimate(sc), estimate(sc, precision=0.001)
    assert most.packets == 30 * once.packets and most.variants == 30 * once.variants
    assert "30 replications" in most.describe()


def test_health_checks_over_a_long_run_are_priced(tmp_path, capsys):
    """Checks every 5 s for 100 h: counted (they were priced as '0 packets'), and where a
    security group drops them (bridge hosts-8080: no rule for the dynamic host ports) each
    task is stopped and started again every 2 x 5 s at most: those restarts are tasks to
    place, bounding what a run measures."""
    sets = ["traffic[0].rate=0/s", "services[0].health_check.interval=5s"]
    est = estimate(load_scenario(SCENARIOS / "security-groups.yaml",
                                 overrides=["duration=100h", *sets]))
    assert est.packets == 0 and est.health_checks >= 3 * 2 * 100 * 3600 / 5
    assert est.tasks >= 2 * 100 * 3600 / 10  # the variant whose checks are dropped
    assert "health checks" in est.describe()
    short = load_scenario(SCENARIOS / "security-groups.yaml", overrides=["duration=1h", *sets])
    bound = estimate(short).tasks
    res = simulate(short, workers=1)
    placed = sum(s["desired"] + sum(s["stopped"].values()) for v in res.variants
                 for s in v["placement"]["services"])
    assert placed <= bound
    many = [*(x for s in sets for x in ("--set", s)), "--set", "duration=100h",
            "--set", "services[0].desired_count=40"]
    err = _refused(capsys, ["run", str(SCENARIOS / "security-groups.yaml"), *many, "-o",
                            str(tmp_path / "o"), "--no-plots"])
    assert "health checks" in err and "tasks 100,000" in err and "--force" in err


# ---- events, duplicate keys, typos, units ------------------------------------------------

def test_an_event_after_the_runs_end_is_a_load_error(tmp_path, capsys):
    doc = make_scenario(duration="30s",
                        events=[{"at": "5min", "scale": "s", "desired_count": 2}])
    path = _file(tmp_path, doc)
    err = _refused(capsys, ["validate", str(path)])
    assert f"s.yaml:{_line_of(path, 'at:')}: events[0].at: 300s is after duration (30s)" in err
    doc["duration"] = "5min"
    res = simulate(load_scenario(doc), workers=1)  # now it happens
    assert res.variants[0]["placement"]["services"][0]["desired"] == 2


def test_events_in_a_run_of_duration_0_are_warned_of(tmp_path, capsys):
    doc = make_scenario(events=[{"at": "5min", "scale": "s", "desired_count": 2}])
    assert main(["validate", str(_file(tmp_path, doc))]) == 0
    assert "warning: duration is 0" in capsys.readouterr().err


def test_a_key_given_twice_in_a_task_definition_is_refused(tmp_path, capsys):
    (tmp_path / "td.json").write_text(
        '{"family": "web", "networkMode": "bridge",\n'
        ' "containerDefinitions": [{"name": "app", "memory": 256,\n'
        '   "memory": 512, "image": "nginx"}]}\n')
    doc = make_scenario()
    doc["services"] = [{"name": "s", "desired_count": 1, "task_definition": "td.json"}]
    err = _refused(capsys, ["validate", str(_file(tmp_path, doc))])
    assert "td.json:3: containerDefinitions[0].memory: the key 'memory' is given twice" in err


@pytest.mark.parametrize("change, expected", [
    ({"services": [{"name": "s", "desired_cout": 3}]},
     "services[0].desired_cout: unknown key 'desired_cout' (did you mean 'desired_count'?)"),
    ({"variants": [{"name": "a", "set": {}}]},
     "variants: unknown key 'variants' (variants belongs under compare:"),
    ({"compare": {"variants": [{"name": "a", "sett": {}}]}},
     "compare.variants[0].sett: unknown key 'sett' (did you mean 'set'?)"),
    ({"cluster": {"instance_groups": [{"name": "g", "type": "c5.large", "count": 1,
                                       "subnet": "a", "securty_groups": []}]}},
     "(did you mean 'security_groups'?)"),
])
def test_an_unknown_key_gets_a_did_you_mean(tmp_path, capsys, change, expected):
    doc = make_scenario(**change)
    err = _refused(capsys, ["validate", str(_file(tmp_path, doc))])
    assert expected in err, err


def test_a_rate_on_the_command_line_needs_its_unit(tmp_path, capsys):
    doc = make_scenario(traffic=[{"name": "f", "to": "s", "rate": "10/s"}])
    path = _file(tmp_path, doc)
    err = _refused(capsys, ["validate", str(path), "--set", "traffic[0].rate=5000"])
    assert "--set traffic[0].rate=5000: a rate on the command line needs its unit" in err
    assert main(["validate", str(path), "--set", "traffic[0].rate=5000/s"]) == 0
    with pytest.raises(ScenarioError, match="needs its unit"):
        load_scenario(doc, overrides=["traffic[0].rate=5000"])
    assert json.loads(json.dumps(doc))["traffic"][0]["rate"] == "10/s"
