"""The control plane's hot modules run compiled (mypyc, built at install) or from their
source (``ECSNETSIM_PURE_PYTHON=1``, or a source changed since its build): the same results
to the byte either way, and a stale build is never run."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import ecsnetsim
from ecsnetsim import compiled

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(ecsnetsim.__file__).resolve().parent
#: placement and deployments on instances, a daemon, scale-out, ports, Fargate, Windows
SCENARIOS = ["deploy-awsvpc-eni", "deploy-daemon", "deploy-drain", "scale-out",
             "static-vs-dynamic-ports", "fargate-vs-ec2", "windows-default"]

needs_build = pytest.mark.skipif(not compiled.COMPILED,
                                 reason=f"the control plane is not compiled here "
                                        f"({compiled.WHY_SOURCE})")


def _results(out: Path, pure: bool) -> dict[str, str]:
    """Every result file of the scenarios run by the CLI, by digest."""
    env = {**os.environ, "ECSNETSIM_PURE_PYTHON": "1" if pure else "0"}
    for name in SCENARIOS:
        subprocess.run([sys.executable, "-m", "ecsnetsim", "run",
                        str(ROOT / "scenarios" / f"{name}.yaml"), "--quiet", "--no-plots",
                        "--workers", "1", "-o", str(out / name)],
                       env=env, check=True, capture_output=True)
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.suffix in (".json", ".csv")}


@needs_build
def test_compiled_and_source_give_byte_identical_results(tmp_path):
    fast = _results(tmp_path / "compiled", pure=False)
    slow = _results(tmp_path / "source", pure=True)
    assert len(fast) >= 2 * len(SCENARIOS)
    assert fast == slow


def _imported(env: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    code = ("import ecsnetsim.model.tally as t, ecsnetsim.compiled as c; "
            "print(t.__file__); print(c.COMPILED)")
    return subprocess.run([sys.executable, "-W", "default", "-c", code], env=env,
                          capture_output=True, text=True, check=True, cwd=cwd)


def test_pure_python_runs_the_source():
    out = _imported({**os.environ, "ECSNETSIM_PURE_PYTHON": "1"})
    where, is_compiled = out.stdout.split()
    assert where.endswith("tally.py") and is_compiled == "False"
    assert "changed since" not in out.stderr


@needs_build
def test_by_default_the_compiled_modules_run():
    out = _imported({**os.environ, "ECSNETSIM_PURE_PYTHON": "0"})
    where, is_compiled = out.stdout.split()
    assert not where.endswith(".py") and is_compiled == "True"


@needs_build
def test_a_source_edited_after_the_build_runs_as_source_with_a_warning(tmp_path):
    """A copy of the installed package whose tally.py was edited: every compiled module
    runs from source (compiled code expects compiled neighbours). A file written again
    with the same text, or newer than its extension (as an installer may write a
    wheel's files), still runs compiled: the build's digests decide, not file times."""
    copy = tmp_path / "ecsnetsim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "ECSNETSIM_PURE_PYTHON": "0", "PYTHONPATH": str(tmp_path)}
    later = time.time() + 60
    for module in compiled.MODULES:
        os.utime(copy / module, (later, later))
    where, is_compiled = _imported(env, cwd=tmp_path).stdout.split()
    assert is_compiled == "True" and not where.endswith(".py")

    tally = copy / "model" / "tally.py"
    tally.write_text(tally.read_text() + "# edited\n")
    out = _imported(env, cwd=tmp_path)
    where, is_compiled = out.stdout.split()
    assert where == str(tally) and is_compiled == "False"
    assert "model/tally.py changed since it was compiled" in out.stderr
    assert "pip install -e ." in out.stderr


def test_the_type_checked_modules_are_the_compiled_ones():
    """mypyc compiles what mypy checks: pyproject's list of modules held to mypy is
    :data:`ecsnetsim.compiled.MODULES`."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    checked = [o["module"] for o in config["overrides"] if o.get("ignore_errors") is False]
    assert len(checked) == 1
    assert sorted(checked[0]) == sorted(
        "ecsnetsim." + m.removesuffix(".py").replace("/", ".") for m in compiled.MODULES)


def test_a_new_task_starts_with_every_field_at_its_declared_default():
    """Task's ``__init__`` is written out (so that it compiles): it must set what the
    field declarations say."""
    import dataclasses

    from ecsnetsim.model.instance import Task

    task = Task(id="t", service="s", group="service:s", mode="bridge", cpu=1, memory=2)
    for f in dataclasses.fields(Task):
        if f.default is not dataclasses.MISSING:
            assert getattr(task, f.name) == f.default, f.name
        elif f.default_factory is not dataclasses.MISSING:
            assert getattr(task, f.name) == f.default_factory(), f.name
    assert (task.id, task.cpu, task.memory) == ("t", 1, 2)


def test_a_mode_of_ones_own_subclasses_the_compiled_base():
    """The modes are compiled, but a mode written elsewhere (uncompiled) still subclasses
    NetworkMode and PublishedPortsMode, and its overrides are the ones called."""
    from ecsnetsim.modes.base import NetworkMode, PublishedPortsMode, TaskSpec

    class Quiet(NetworkMode):
        name = "quiet"
        port_mappings_allowed = False

        def attach_delay(self, inst, task) -> float:
            return 7.0

    class Published(PublishedPortsMode):
        name = "published"
        network_cidr = "10.9.0.0/29"

    spec = TaskSpec(service="s", mode="quiet", cpu=1, memory=1)
    assert Quiet().attach_delay(None, None) == 7.0
    field, why = Quiet().port_mapping_problem(SimpleNamespace(container_port=80))
    assert field is None and "'quiet'" in why  # the base's method reads the subclass's
    assert Quiet().task_subnets((), ()) == () and Quiet().supported_os == ("linux",)
    assert Published().port_claim(spec).static == ()
    assert Published().new_instance_state(None).free == 8 - 3
