"""Scenario format v1: schema, loading with located errors, overrides and variants.

The names load on first use: building the pydantic schema and its checks takes a tenth of
a second, which ``import ecsnetsim``, ``ecsnetsim --help`` and a module that needs only
:mod:`.yamlsrc` do not pay.
"""

import importlib

#: The public names and the submodule each comes from.
_EXPORTS = {
    "Source": "loader",
    "VariantSpec": "loader",
    "load_scenario": "loader",
    "question": "loader",
    "source_of": "loader",
    "variants_of": "loader",
    "NETWORK_MODES": "schema",
    "Scenario": "schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """A public name, imported from its submodule the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
