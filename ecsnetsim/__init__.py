"""ecsnetsim: a discrete-event simulator of Amazon ECS task network modes on EC2.

>>> import ecsnetsim
>>> sc = ecsnetsim.load_scenario("scenarios/compare-modes.yaml")
>>> res = ecsnetsim.simulate(sc, seed=1)

The names below load on first use (``ecsnetsim.simulate``, ``from ecsnetsim import
Scenario``, ``ecsnetsim.plots``): importing the package, or ``ecsnetsim --help``, does not
pay for the scenario schema, numpy, simpy or matplotlib.
"""

import importlib
import sys
import types

__version__ = "0.1.0"

#: The public names and the module each comes from (loaded when first asked for).
_EXPORTS = {
    "InputError": "errors",
    "ScenarioError": "errors",
    "Results": "results",
    "Table": "results",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "question": "scenario",
    "simulate": "simulate",
}

__all__ = sorted([*_EXPORTS, "__version__", "modes"])


def __getattr__(name: str):
    """A public name, or a submodule (``ecsnetsim.plots``), imported the first time it is
    asked for and kept."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif not name.startswith("__"):
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package's module type: importing the submodule ``ecsnetsim.simulate`` must not
    replace the function of that name (Python sets a submodule as an attribute of its
    package once it is loaded; the function is what ``ecsnetsim.simulate`` names)."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and name in _EXPORTS:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
