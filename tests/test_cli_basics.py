"""The command line: validate, schema, instance-types, --version, and exit status 2 for bad input.

Most checks call ``ecsnetsim.cli.main`` in this process; two run ``python -m ecsnetsim``
end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS
from conftest import run_cli as cli

import ecsnetsim

BAD = """\
version: 1
name: bad
vpc:
  subnets:
    - {name: a, cidr: 10.0.0.0/24}
cluster:
  instance_groups:
    - {name: hosts, type: c5.large, count: 1, subnet: a}
services:
  - name: web
    desried_count: 2
"""

GOOD = """\
version: 1
name: good
duration: 0
vpc:
  subnets:
    - {name: a, cidr: 10.0.0.0/24}
cluster:
  instance_groups:
    - {name: hosts, type: c5.large, count: 1, subnet: a}
services:
  - name: web
    desired_count: 1
    cpu: 128
    memory: 128
"""


def ecsnetsim_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecsnetsim", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


# ---- validate --------------------------------------------------------------------------------

SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_there_are_example_scenarios():
    assert len(SCENARIO_FILES) >= 5


def test_validate_every_example_scenario(capsys):
    rc, out, err = cli(capsys, "validate", *map(str, SCENARIO_FILES))
    assert (rc, err) == (0, "")
    assert out.count(": ok (") == len(SCENARIO_FILES)
    for f in SCENARIO_FILES:
        assert f"{f}: ok ({ecsnetsim.load_scenario(f).name}," in out


def test_validate_reports_the_variant_count(capsys):
    rc, out, _ = cli(capsys, "validate", str(SCENARIOS / "binpack-vs-spread.yaml"))
    assert rc == 0 and "3 variant(s)" in out


def test_validate_stops_at_the_first_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    rc, out, err = cli(capsys, "validate", str(SCENARIO_FILES[0]), str(bad))
    assert rc == 2
    assert f"{SCENARIO_FILES[0]}: ok" in out
    assert err == (f"ecsnetsim: error: {bad}:11: services[0].desried_count: unknown key "
                   "'desried_count' (did you mean 'desired_count'?); expected one of: "
                   + err.split("expected one of: ")[1])
    assert "desired_count" in err


def test_validate_with_set(capsys):
    f = str(SCENARIOS / "dynamic-port-density.yaml")
    rc, _, err = cli(capsys, "validate", f, "--set", "services.web.desired_count=8")
    assert (rc, err) == (0, "")
    rc, _, err = cli(capsys, "validate", f, "--set", "services.web.desired_count")
    assert rc == 2 and "--set expects PATH=VALUE" in err


def test_validate_missing_file(tmp_path, capsys):
    rc, out, err = cli(capsys, "validate", str(tmp_path / "missing.yaml"))
    assert rc == 2 and out == ""
    assert err == f"ecsnetsim: error: {tmp_path / 'missing.yaml'}: no such file\n"


# ---- usage errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["frobnicate"], ["run"], ["validate"],
                                  ["run", "x.yaml", "--seed", "many"]])
def test_usage_errors_exit_2(capsys, args):
    rc, out, err = cli(capsys, *args)
    assert rc == 2
    assert "usage: ecsnetsim" in err
    assert "Traceback" not in err


# ---- schema, --version, instance-types -----------------------------------------------------------

def test_schema_is_json_with_services(capsys):
    rc, out, err = cli(capsys, "schema")
    assert (rc, err) == (0, "")
    schema = json.loads(out)
    assert "services" in schema["properties"]
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"version", "name", "vpc"}
    assert schema["additionalProperties"] is False
    assert "desired_count" in schema["$defs"]["Service"]["properties"]
    port = schema["$defs"]["PortMapping"]["properties"]["container_port"]
    number = next(t for t in port["anyOf"] if t.get("type") == "integer")
    assert (number["minimum"], number["maximum"]) == (1, 65535)


def test_version(capsys):
    rc, out, _ = cli(capsys, "--version")
    assert rc == 0
    assert out.strip() == f"ecsnetsim {ecsnetsim.__version__}"


def instance_rows(out: str) -> dict[str, list[str]]:
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["type", "vCPU", "MiB", "ENIs"]
    table = lines[1:lines.index("")]  # a blank line ends the table; the sources follow
    return {ln.split()[0]: ln.split() for ln in table}


def test_instance_types_c5_large(capsys):
    rc, out, err = cli(capsys, "instance-types", "c5.large")
    assert (rc, err) == (0, "")
    row = instance_rows(out)["c5.large"]
    # type, vCPU, MiB, ENIs, IPv4/ENI, awsvpc tasks, with trunking
    assert row[:7] == ["c5.large", "2", "4096", "3", "10", "2", "10"]
    assert "1 type(s)" in out


def test_instance_types_family(capsys):
    rc, out, _ = cli(capsys, "instance-types", "c5")
    rows = instance_rows(out)
    assert rc == 0 and "c5.large" in rows and "c5.xlarge" in rows
    assert all(name.startswith("c5.") for name in rows)


def test_instance_types_gpus_column_only_where_a_type_has_gpus(capsys):
    from ecsnetsim import catalog

    rc, out, _ = cli(capsys, "instance-types", "g4dn.*")
    assert rc == 0 and out.splitlines()[0].split()[-2:] == ["GPUs", "note"]
    rows = instance_rows(out)
    assert rows and all(r[7] == str(catalog.get(name).gpus) for name, r in rows.items())
    assert {r[7] for r in rows.values()} >= {"1", "4"}   # g4dn.xlarge, g4dn.12xlarge
    rc, out, _ = cli(capsys, "instance-types")           # every type: '-' where none
    rows = instance_rows(out)
    assert rows["c5.large"][:8] == ["c5.large", "2", "4096", "3", "10", "2", "10", "-"]
    assert rows["g4dn.xlarge"][7] == "1"
    rc, out, _ = cli(capsys, "instance-types", "c5")     # no GPU type: no column
    assert rc == 0 and "GPUs" not in out


def test_instance_types_unknown(capsys):
    rc, out, err = cli(capsys, "instance-types", "nosuchtype")
    assert rc == 2 and out == ""
    assert err == "ecsnetsim: error: no instance type matches 'nosuchtype'\n"


# ---- run: nothing half-written -------------------------------------------------------------------

@pytest.mark.parametrize("text, sets", [
    (BAD, []),
    (GOOD, ["services[0].desired_count=many"]),
    (GOOD, ["services[9].cpu=1"]),
    ("version: 1\nname: [x\n", []),
])
def test_run_invalid_scenario_leaves_no_output(tmp_path, capsys, text, sets):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    out_dir = tmp_path / "out" / "nested"
    set_args = [a for s in sets for a in ("--set", s)]
    rc, out, err = cli(capsys, "run", str(f), "-o", str(out_dir), *set_args)
    assert rc == 2 and out == ""
    assert "Traceback" not in err and str(f) in err
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_run_missing_scenario_with_default_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli(capsys, "run", "missing.yaml")
    assert rc == 2 and "missing.yaml: no such file" in err
    assert list(tmp_path.iterdir()) == []


def test_run_valid_scenario_writes_results(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(GOOD)
    rc, out, err = cli(capsys, "run", str(f), "-o", str(tmp_path / "out"), "--quiet")
    assert (rc, out) == (0, "")
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["scenario"]["name"] == "good"


# ---- end to end, as a separate process ----------------------------------------------------

def test_python_m_ecsnetsim_version():
    proc = ecsnetsim_cmd("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"ecsnetsim {ecsnetsim.__version__}"


def test_python_m_ecsnetsim_bad_scenario_end_to_end(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    proc = ecsnetsim_cmd("run", "bad.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("ecsnetsim: error: bad.yaml:11: services[0].desried_count: "
                                  "unknown key 'desried_count'")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "results").exists()
