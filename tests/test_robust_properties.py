"""Property-based: whatever a scenario file or ``--set`` says, loading it ends in a
scenario or in one located error (exit 2), never another exception, in bounded time.

Scenarios are the files of ``scenarios/`` mutated line by line (lines dropped, doubled,
re-indented, values replaced by hostile scalars, anchors and aliases, deep nesting);
``--set`` gets generated field paths and YAML values. Seeded (``derandomize``) and
sized to add seconds, not minutes, to the suite.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecsnetsim import Scenario, ScenarioError, load_scenario
from ecsnetsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
TEXTS = {f.name: f.read_text() for f in FILES}

#: Examples per property: sized for CI (a few seconds each); set ECSNETSIM_FUZZ_EXAMPLES
#: to search deeper (12,000 found what the issue lists).
EXAMPLES = int(os.environ.get("ECSNETSIM_FUZZ_EXAMPLES", "60"))

#: Seeded (derandomize: the same examples on every run), with a deadline per example: a
#: slow example is a failure, not a wait.
PROPERTY = settings(derandomize=True, max_examples=EXAMPLES, deadline=3000, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

#: What pydantic says that a scenario's author should never read.
PYDANTIC = ("Input should", "Extra inputs", "Field required", "pydantic",
            "https://errors.pydantic.dev", "should have at", "Value error,")

SCALARS = st.one_of(
    st.sampled_from(["0", "-1", "1e400", "-.inf", ".nan", "~", "null", "true", "no", "''",
                     "1" * 60, "9" * 5000, "0x1F", "0o17", "1_000", "2024-13-45",
                     "2001-12-14t21:59:43.10-05:00", "!!binary aGVsbG8=", "!!int abc",
                     "!!float x", "!!set {a, b}", "!!omap [a: 1]", "[]", "{}", "[[[[1]]]]",
                     "*undefined", "&a 1", "1e9/s", "100h", "10000000", "'\\u0000'",
                     "\"\\x00\"", "!python/object:os.system x", "<<", "{<<: [1]}",
                     "x" * 300, "10.0.0.0/33", "80/tcp", "-0", "1.5"]),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
            max_size=12).map(lambda t: repr(t)),
)

FRAGMENTS = st.one_of(
    SCALARS,
    st.sampled_from([
        "&x [*x]", "[" * 200 + "]" * 200, "&b {cpu: 1}", "{<<: *b}",
        "&l [1,2,3,4,5,6,7,8,9]", "[*l,*l,*l,*l,*l,*l,*l,*l,*l]",
        "\n  - {name: extra}", "\n  extra: 1", "{a: 1, a: 2}", "? [a]\n: 1",
    ]),
)

_VALUE = re.compile(r"^(\s*(?:- )?[\w\[\]\.\"-]+:)(\s+)(.+)$")


@st.composite
def mutated_scenario(draw) -> str:
    """A scenario file from ``scenarios/`` with one to three lines changed."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[name].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "value", "value", "drop", "double", "indent",
                                    "insert"]))
        m = _VALUE.match(lines[i])
        if how == "value" and m:
            lines[i] = f"{m.group(1)} {draw(FRAGMENTS)}"
        elif how == "drop":
            del lines[i]
        elif how == "double":
            lines.insert(i, lines[i])
        elif how == "indent":
            lines[i] = "  " + lines[i]
        else:
            lines.insert(i, f"{draw(st.sampled_from(['x', 'seed', 'name', 'services']))}: "
                            f"{draw(FRAGMENTS)}")
        if not lines:
            lines = ["version: 1"]
    return "\n".join(lines) + "\n"


def load_or_located_error(path: Path) -> Scenario | ScenarioError:
    """Load ``path``; an error must be a ScenarioError naming the file."""
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        assert exc.file and (exc.file == str(path) or exc.file.endswith(".json")), str(exc)
        assert len(str(exc)) < 5_000
        assert not [p for p in PYDANTIC if p in str(exc)], str(exc)
        return exc


@PROPERTY
@given(text=mutated_scenario())
def test_mutated_scenarios_load_or_fail_with_a_located_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("m") / "s.yaml"
    path.write_text(text)
    load_or_located_error(path)


PATHS = st.one_of(
    st.sampled_from(["seed", "name", "duration", "warmup", "services[0].desired_count",
                     "services[0].cpu", "services.web.memory", "services[9].cpu",
                     "cluster.instance_groups[0].count", "account.awsvpc_trunking",
                     "traffic[0].rate", "vpc.subnets[0].cidr", "calibration.docker0.service",
                     "compare", "sweep", "events", "services[0].containers[0].port_mappings",
                     "services[-1]", "services..cpu", "[0]", "a.b[0].c", "services[0]",
                     "services[99999999999999999999]"]),
    st.text(alphabet="abcs[]0.-_=", min_size=1, max_size=20),
)


@PROPERTY
@given(path=PATHS, value=FRAGMENTS)
def test_set_overrides_load_or_fail_with_exit_2(capsys, path, value):
    capsys.readouterr()
    rc = main(["validate", str(ROOT / "scenarios" / "compare-modes.yaml"),
               f"--set={path}={value}"])
    err = capsys.readouterr().err
    assert rc in (0, 2), err
    assert "Traceback" not in err and len(err) < 5_000
    assert not [p for p in PYDANTIC if p in err], err
    if rc == 2:
        assert err.startswith("ecsnetsim: error: ")


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_scenario_still_loads(name):
    """The bounds leave every shipped scenario alone."""
    assert isinstance(load_scenario(ROOT / "scenarios" / name), Scenario)


def laughs_value(levels: int = 10) -> str:
    """A one-line "billion laughs" YAML value: nine aliases of the level below, nested."""
    parts = ["&a0 [l,l,l,l,l,l,l,l,l]"]
    parts += [f"&a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def test_set_value_with_nested_aliases_is_refused_in_bounded_time():
    """A sweep over such a value once spelled every repetition out for the variant name."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ecsnetsim", "validate", str(FILES[0]),
                           f"--set=sweep.seed={laughs_value()}"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.startswith("ecsnetsim: error: --set sweep.seed=")
    assert "aliases repeat more than" in proc.stderr


@pytest.mark.parametrize("value, expected", [
    ("9" * 5000, "a whole number of 5,000 digits"),
    ("[" * 5000 + "]" * 5000, "nested more than"),
    ("!!int abc", "cannot read 'abc' as a YAML int"),
])
def test_set_values_within_the_loader_bounds(capsys, value, expected):
    rc = main(["validate", str(FILES[0]), f"--set=seed={value}"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("ecsnetsim: error: --set seed=") and expected in err, err
