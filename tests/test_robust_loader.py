"""The scenario loader within bounds: hostile or huge files end in one located error.

Each case runs ``ecsnetsim validate`` (in this process, or in a child with a time and
memory limit where the old behaviour was to grow or block without end) and checks the
exit status 2, the file, the line and the field path, and that no traceback is printed.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecsnetsim import load_scenario
from ecsnetsim.cli import main
from ecsnetsim.scenario.yamlsrc import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INT_DIGITS,
)

ROOT = Path(__file__).resolve().parent.parent
SMALL = (ROOT / "scenarios" / "static-vs-dynamic-ports.yaml").read_text()

#: Address space a child may map: the package imports in ~100 MB; the old loader grew
#: by tens of MB a second on the billion-laughs file.
CHILD_MEMORY = 1024 * 1024 * 1024


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def validate_child(*paths: str | Path, timeout: float = 30) -> tuple[int, str, float]:
    """``python -m ecsnetsim validate PATHS`` in a child bounded in memory and time."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ecsnetsim", "validate", *map(str, paths)],
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limit_child, cwd=ROOT)
    return proc.returncode, proc.stderr, time.monotonic() - start


def validate(capsys, path: Path) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["validate", str(path)])
    return rc, capsys.readouterr().err


def laughs(levels: int = 10) -> str:
    """The "billion laughs" file: each level an alias list of nine of the one below."""
    lines = ["version: 1", "name: lol",
             'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly_in_bounded_memory(tmp_path):
    f = tmp_path / "laughs.yaml"
    f.write_text(laughs())
    rc, err, took = validate_child(f)
    assert rc == 2, err
    assert f"aliases repeat more than {MAX_ALIAS_VALUES:,} values" in err
    assert err.startswith(f"ecsnetsim: error: {f}:") and "Traceback" not in err
    assert took < 20


def test_billion_laughs_in_a_field_names_the_alias_line(tmp_path):
    text = SMALL.replace("seed: 1\n", "seed: 1\n" + laughs().split("\n", 2)[2].replace(
        "a0: ", "x-a0: ").replace("\na", "\nx-a"))
    f = tmp_path / "s.yaml"
    f.write_text(text)
    rc, err, _ = validate_child(f)
    # a4 repeats 9^5 values with its nine *a3; a5's first *a4 goes over the budget
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("x-a5:"))
    assert rc == 2 and err.startswith(f"ecsnetsim: error: {f}:{line}: x-a5[0]: aliases"), err


def test_aliases_for_shared_settings_still_load(tmp_path):
    text = SMALL.replace("    cpu: 256\n    memory: 512\n",
                         "    cpu: &cpu 256\n    memory: *cpu\n")
    f = tmp_path / "s.yaml"
    f.write_text(text)
    sc = load_scenario(f)
    assert (sc.services[0].cpu, sc.services[0].memory) == (256, 256)


def test_alias_inside_its_own_anchor_is_an_error(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + "x: &x [1, *x]\n")
    rc, err = validate(capsys, f)
    assert rc == 2 and "alias refers to a mapping or list that contains it" in err
    assert f"{f}:{len(SMALL.splitlines()) + 1}: x[1]:" in err


def test_nesting_ten_thousand_deep_is_a_located_error(tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("version: 1\nname: x\nseed: " + "[" * 10_000 + "]" * 10_000 + "\n")
    rc, err, _ = validate_child(f)
    assert rc == 2 and "Traceback" not in err, err[-2000:]
    assert f"{f}:3: seed[0][0]" in err
    assert f"nested more than {MAX_DEPTH} levels deep" in err
    assert len(err) < 500


def test_nesting_within_the_bound_reaches_validation(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("seed: 1", "seed: " + "[" * 40 + "]" * 40))
    rc, err = validate(capsys, f)
    assert rc == 2 and f"{f}:9: seed: expected" in err


@pytest.mark.parametrize("digits", [5000, MAX_INT_DIGITS + 1])
def test_a_very_long_integer_is_a_located_error(tmp_path, capsys, digits):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("seed: 1", "seed: " + "7" * digits))
    rc, err = validate(capsys, f)
    assert rc == 2 and "Traceback" not in err
    assert err == (f"ecsnetsim: error: {f}:9: seed: a whole number of {digits:,} digits; "
                   f"expected at most {MAX_INT_DIGITS} digits\n")


def test_a_long_integer_within_the_bound_is_read(tmp_path):
    f = tmp_path / "s.yaml"
    seed = 2 ** 127 + 1
    f.write_text(SMALL.replace("seed: 1", f"seed: {seed}"))
    assert load_scenario(f).seed == seed


@pytest.mark.parametrize("value, shown", [("2024-13-45", "timestamp"), ("!!int abc", "int"),
                                          ("!!float x", "float")])
def test_a_scalar_yaml_cannot_read_is_a_located_error(tmp_path, capsys, value, shown):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("name: static-vs-dynamic-ports", f"name: {value}"))
    rc, err = validate(capsys, f)
    assert rc == 2 and f"{f}:8: name: cannot read" in err and f"as a YAML {shown}" in err


def test_file_over_the_size_cap_is_refused_without_reading_it_all(tmp_path):
    f = tmp_path / "huge.yaml"
    f.write_text(SMALL + "#" * MAX_FILE_BYTES + "\n")
    rc, err, _ = validate_child(f)
    assert rc == 2
    assert err == (f"ecsnetsim: error: {f}: larger than {MAX_FILE_BYTES:,} bytes, the most "
                   "a scenario file may hold\n")


def test_a_file_just_under_the_cap_is_read(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL + "#" * (MAX_FILE_BYTES - len(SMALL.encode()) - 2) + "\n")
    assert os.path.getsize(f) < MAX_FILE_BYTES
    assert load_scenario(f).name == "static-vs-dynamic-ports"


def test_dev_zero_is_refused_at_once():
    rc, err, took = validate_child("/dev/zero", timeout=20)
    assert rc == 2 and err == ("ecsnetsim: error: /dev/zero: is a character device; "
                               "expected a regular scenario file\n")
    assert took < 15


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    rc, err, _ = validate_child(fifo, timeout=20)
    assert rc == 2 and err == (f"ecsnetsim: error: {fifo}: is a FIFO (named pipe); "
                               "expected a regular scenario file\n")


MERGED = """\
version: 1
name: merged
duration: 1s
vpc:
  subnets:
    - {name: private-a, cidr: 10.0.0.0/24, az: us-east-1a}
cluster:
  instance_groups:
    - {name: hosts, type: m5.large, count: 3, subnet: private-a}
x-sizes: &sizes {cpu: 128, memory: 256}
services:
  - &api
    name: api
    desired_count: 2
    network_mode: bridge
    cpu: 256
    memory: 512
  - <<: *api
    name: worker
    desired_count: 1
  - <<: [*sizes, *api]
    name: small
"""


def test_merge_keys_bring_in_the_anchored_fields_and_own_keys_win(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(MERGED.replace("x-sizes: &sizes {cpu: 128, memory: 256}\n", "")
                 .replace("  - <<: [*sizes, *api]\n    name: small\n", ""))
    sc = load_scenario(f)
    api, worker = sc.services
    assert (worker.name, worker.desired_count, worker.network_mode, worker.cpu,
            worker.memory) == ("worker", 1, "bridge", 256, 512)
    assert api.desired_count == 2


def test_merge_list_earlier_mappings_win(tmp_path):
    from ecsnetsim.scenario.yamlsrc import load_yaml

    data, lines = load_yaml(MERGED, "s.yaml")
    small = data["services"][2]
    assert (small["name"], small["cpu"], small["memory"], small["desired_count"]) == (
        "small", 128, 256, 2)
    assert lines[("services", 2, "name")] == 22


def test_a_bad_value_in_a_merge_points_at_the_overriding_line(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    text = MERGED.replace("    desired_count: 1\n", "    desired_count: 1\n    cpu: -5\n")
    f.write_text(text)
    rc, err = validate(capsys, f)
    assert rc == 2
    assert f"{f}:21: services[1].cpu: must be at least 0" in err


def test_merge_of_a_scalar_is_a_located_error(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(SMALL.replace("seed: 1", "x: &x 1\nseed: {<<: *x}"))
    rc, err = validate(capsys, f)
    assert rc == 2 and f"{f}:10: seed: a merge key (<<) takes a mapping" in err
