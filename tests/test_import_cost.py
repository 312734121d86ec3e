"""``import ecsnetsim`` and ``ecsnetsim --help`` load none of the heavy libraries (numpy,
pydantic and the scenario schema, simpy, networkx, matplotlib): the package's names load on
first use. Structural, not timed: each case runs in a fresh interpreter and lists what it
imported. The public names still resolve, however the package is entered."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: What a bare import must not load: the libraries that cost most of the 0.5 s it took when
#: the package imported everything, and the package's own modules that pull them in.
HEAVY = ("numpy", "pydantic", "simpy", "networkx", "matplotlib", "yaml", "tqdm",
         "ecsnetsim.scenario.schema", "ecsnetsim.scenario.checks", "ecsnetsim.simulate",
         "ecsnetsim.control", "ecsnetsim.net", "ecsnetsim.plots", "ecsnetsim.results")

HELP = ("import sys\nsys.argv = ['ecsnetsim', '--help']\nfrom ecsnetsim.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("code", ["import ecsnetsim", HELP], ids=["import", "--help"])
def test_heavy_modules_are_not_loaded(code):
    loaded = _modules_after(code)
    assert "ecsnetsim" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_help_still_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "ecsnetsim", "--help"], capture_output=True,
                         text=True, check=True)
    for command in ("run", "validate", "plot", "plan", "schema"):
        assert command in out.stdout


def test_public_names_resolve_on_first_use():
    code = ("import ecsnetsim, types\n"
            "names = {n: type(getattr(ecsnetsim, n)).__name__ for n in ecsnetsim.__all__}\n"
            "from ecsnetsim import Scenario, ScenarioError, load_scenario, simulate\n"
            "assert ecsnetsim.Scenario is Scenario and ecsnetsim.simulate is simulate\n"
            "assert isinstance(ecsnetsim.plots, types.ModuleType)\n"
            "import json\nprint(json.dumps(names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    names = json.loads(out.stdout.strip().splitlines()[-1])
    assert names["simulate"] == "function"
    assert names["load_scenario"] == "function"
    assert names["modes"] == "module"
    assert names["__version__"] == "str"
    assert names["Scenario"] == "ModelMetaclass"  # the pydantic model
    assert names["Results"] == names["ScenarioError"] == "type"


@pytest.mark.parametrize("first", ["import ecsnetsim.simulate",
                                   "from ecsnetsim.simulate import simulate",
                                   "import ecsnetsim.cli"])
def test_simulate_stays_the_function_whichever_module_loads_first(first):
    """Python sets a loaded submodule as its package's attribute: ``ecsnetsim.simulate``
    must remain the function even when the module of that name was imported first."""
    code = f"{first}\nimport ecsnetsim\nprint(callable(ecsnetsim.simulate), " \
           "type(ecsnetsim.simulate).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "function"]


def test_an_unknown_name_is_an_attribute_error():
    import ecsnetsim

    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ecsnetsim.no_such_name  # noqa: B018
    assert not hasattr(ecsnetsim.scenario, "no_such_name")
