"""The build is honest when it cannot compile: without a working C compiler it compiles
nothing (mypy is not run), warns with what that costs, and records why, so that
``ecsnetsim run`` says it too; ``ECSNETSIM_COMPILE`` chooses what is compiled.

Each case runs ``setup.py build_ext --inplace`` in a copy of the project without its
compiled extensions, with ``CC`` pointing nowhere: a few seconds, nothing compiled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytest.importorskip("setuptools")

#: What the copy leaves out: build products of the tree's own install.
BUILT = ("*.so", "*.pyd", "__pycache__", "_build.json", "_compiled_sources.json")


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project as an sdist would hold it, with nothing compiled."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "ecsnetsim", copy / "ecsnetsim",
                    ignore=shutil.ignore_patterns(*BUILT))
    return copy


def _build(project: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("ECSNETSIM_COMPILE", "ECSNETSIM_PURE_PYTHON")}
    environ.update({"CC": "/nonexistent/cc", **env})
    return subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                          cwd=project, env=environ, capture_output=True, text=True,
                          timeout=300)


def _record(project: Path) -> dict:
    return json.loads((project / "ecsnetsim" / "_build.json").read_text())


def _notice(project: Path, **env: str) -> str:
    """What :func:`ecsnetsim.compiled.install_notice` says in the copy."""
    code = "from ecsnetsim.compiled import install_notice; print(install_notice())"
    environ = {**os.environ, "PYTHONPATH": str(project), "ECSNETSIM_PURE_PYTHON": "0", **env}
    return subprocess.run([sys.executable, "-c", code], cwd=project, env=environ,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_without_a_compiler_nothing_is_compiled_and_the_build_says_so(project):
    proc = _build(project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "warning: ecsnetsim installs without compiled parts" in out
    assert "placement about 1.9x slower" in out and "packet engine about 4x slower" in out
    assert "no working C compiler" in out and "/nonexistent/cc" in out
    record = _record(project)
    assert record["asked"] == ["engine", "control"] and record["compiled"] == []
    assert sorted(record["missing"]) == ["control", "engine"]
    # mypy never ran: it writes one C file per module into build/
    assert not list(project.glob("build/__native_*.c"))
    assert not list(project.rglob("*.so"))


def test_the_package_then_says_what_runs_from_source(project):
    _build(project)
    notice = _notice(project)
    assert notice.startswith("ecsnetsim: note: runs without its compiled parts")
    assert "placement about 1.9x slower" in notice and "no working C compiler" in notice
    # chosen, not suffered: no note
    assert _notice(project, ECSNETSIM_PURE_PYTHON="1") == "None"


def test_run_prints_the_note_on_stderr_unless_quiet(project, tmp_path):
    _build(project)
    environ = {**os.environ, "PYTHONPATH": str(project), "ECSNETSIM_PURE_PYTHON": "0"}
    scenario = str(ROOT / "scenarios" / "awsvpc-eni-density.yaml")
    for quiet in (False, True):
        out = tmp_path / f"out-{quiet}"
        command = [sys.executable, "-m", "ecsnetsim", "run", scenario, "--no-plots",
                   "-o", str(out), *(["--quiet"] if quiet else [])]
        proc = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert ("ecsnetsim: note: runs without its compiled parts" in proc.stderr) \
            is not quiet


def test_compile_none_is_a_choice_without_a_warning(project):
    proc = _build(project, ECSNETSIM_COMPILE="none")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "warning: ecsnetsim installs without" not in proc.stdout + proc.stderr
    assert _record(project) == {"asked": [], "compiled": [], "missing": {}}
    assert _notice(project) == "None"


def test_an_unknown_part_stops_the_build(project):
    proc = _build(project, ECSNETSIM_COMPILE="engine,contrl")
    assert proc.returncode != 0
    assert "ECSNETSIM_COMPILE='engine,contrl'" in proc.stderr
    assert "unknown: contrl" in proc.stderr
