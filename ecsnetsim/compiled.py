"""Which of the control plane's modules run compiled, and the switch back to their source.

The control plane's hot modules (placement, the task lifecycle and its timers, the tally,
the instance's bookkeeping, and the network modes placement asks on every candidate:
:data:`MODULES`) are ordinary Python that ``setup.py`` also compiles with mypyc at
install, when it can. A compiled module is a C extension
beside its ``.py`` file, which Python imports in preference to the source: placing
100,000 tasks takes about 0.6x the time. Both give the same results; the source is the
one truth, the extension only a faster way to run it.

The source is used instead, for all of them at once (compiled code expects its compiled
neighbours), when

* ``ECSNETSIM_PURE_PYTHON=1`` is set in the environment at import (as for the packet
  engine, :mod:`ecsnetsim.net.engine`);
* some module was not compiled, or its ``.py`` is not the source its extension was
  compiled from (the digests the build wrote, :data:`SOURCES`): the source was edited or
  checked out after the install, and the extension would run the old code. A warning
  says so; ``pip install -e .`` compiles them again. (Digests, not file times: an
  installer writes the files of a wheel in any order.)

:data:`COMPILED` says which is in use.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)
from pathlib import Path

#: The modules ``setup.py`` compiles, as paths under the package; setup.py reads them
#: from here (as text: it cannot import the package).
MODULES = (
    "control/capacity.py",
    "control/draws.py",
    "control/lifecycle.py",
    "control/placeindex.py",
    "control/placement.py",
    "control/timers.py",
    "control/waiting.py",
    "model/instance.py",
    "model/ipam.py",
    "model/ports.py",
    "model/states.py",
    "model/tally.py",
    "modes/awsvpc.py",
    "modes/base.py",
    "modes/bridge.py",
    "modes/default.py",
    "modes/host.py",
    "modes/none.py",
)
#: The library mypyc puts the compiled code of all of them in (the modules' own
#: extensions are small shims that load it).
GROUP = "control/_compiled__mypyc"

#: What the build compiled: each module's source digest (sha256), written by setup.py
#: beside the library. The extensions run only for exactly those sources.
SOURCES = "control/_compiled_sources.json"

#: What the last build was asked to compile (``ECSNETSIM_COMPILE``), what it compiled, and
#: why not the rest: written by setup.py, read by :func:`install_notice`.
BUILD = "_build.json"

#: What running each compiled part from source costs, as setup.py's warning and
#: :func:`install_notice` say it (benchmarks/README.md: placing 30,000 tasks took 0.53x
#: the time compiled; the packet engine moves about 4x the packet-hops per CPU second).
SLOWER = {"engine": "the packet engine about 4x slower",
          "control": "placement about 1.9x slower"}

_PACKAGE = Path(__file__).parent


def _extension(stem: Path) -> Path | None:
    """The compiled extension of a module (its path without ``.py``), if built."""
    for suffix in EXTENSION_SUFFIXES:
        path = stem.with_name(stem.name + suffix)
        if path.exists():
            return path
    return None


def _why_source() -> str | None:
    """Why the modules must load from source (None: their extensions are sound)."""
    if os.environ.get("ECSNETSIM_PURE_PYTHON", "") not in ("", "0"):
        return "ECSNETSIM_PURE_PYTHON is set"
    manifest = _PACKAGE / SOURCES
    if _extension(_PACKAGE / GROUP) is None or not manifest.exists():
        return "not compiled"
    compiled = json.loads(manifest.read_text())
    for module in MODULES:
        source = _PACKAGE / module
        if module not in compiled or _extension(source.with_suffix("")) is None:
            return f"{module} was not compiled"
        if hashlib.sha256(source.read_bytes()).hexdigest() != compiled[module]:
            return f"{module} changed since it was compiled"
    return None


def run_from_source(package_path: list[str]) -> None:
    """Called by a package holding compiled modules (its ``__path__``) before they are
    imported: unless they are to run compiled, Python imports that package's modules
    from their ``.py`` files (a path finder without the extension loader, put in the
    cache Python consults for the package's directory)."""
    if COMPILED:
        return
    for directory in package_path:
        sys.path_importer_cache[directory] = FileFinder(
            directory, (SourceFileLoader, SOURCE_SUFFIXES),
            (SourcelessFileLoader, BYTECODE_SUFFIXES))


WHY_SOURCE = _why_source()
#: Whether the control plane's hot modules run compiled (see the module's docstring).
COMPILED: bool = WHY_SOURCE is None
if WHY_SOURCE not in (None, "ECSNETSIM_PURE_PYTHON is set", "not compiled"):
    warnings.warn(f"ecsnetsim: the control plane runs from source, slower: {WHY_SOURCE} "
                  "(`pip install -e .` compiles it again)", RuntimeWarning, stacklevel=2)


def install_notice() -> str | None:
    """One line on what runs from source because the install could not compile it, and
    what that costs (None when everything asked for runs compiled, when pure Python was
    chosen, or when no build recorded anything, as in a source checkout): pip shows the
    build's own warning only with ``-v``, so ``ecsnetsim run`` repeats it."""
    if os.environ.get("ECSNETSIM_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        missing = json.loads((_PACKAGE / BUILD).read_text())["missing"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    running = {"engine": _extension(_PACKAGE / "net" / "_cengine") is not None,
               "control": COMPILED}
    pure = [part for part in SLOWER if part in missing and not running[part]]
    if not pure:
        return None
    why = "; ".join(dict.fromkeys(str(missing[part]) for part in pure))
    return (f"ecsnetsim: note: runs without its compiled parts, "
            f"{', '.join(SLOWER[part] for part in pure)} (the install could not compile "
            f"them: {why}); with a C compiler and Python's headers, pip install again")
