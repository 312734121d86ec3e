"""Build of the optional compiled parts: the packet engine and the control plane's hot
modules.

Everything else about the package is in ``pyproject.toml``. Both parts are optional:
without them the package runs pure Python with the same results, only slower:

* ``engine``: the packet engine (``ecsnetsim.net._cengine``, Cython) has a pure-Python
  twin, ``ecsnetsim.net._pyengine`` (see :mod:`ecsnetsim.net.engine`);
* ``control``: the control plane's hot modules (:data:`ecsnetsim.compiled.MODULES`) are
  compiled by mypyc from their own source, which runs as it is when they are not (see
  :mod:`ecsnetsim.compiled`).

``ECSNETSIM_COMPILE`` chooses what the build compiles: ``all`` (the default: both),
``none``, or a comma-separated list of parts (``engine``). Both are compiled by default:
their build (about 17 s of CPU for the engine, 28 s for the control plane at ``-O1``) is
repaid within a few large runs (4x on the data plane, where 10^6 packets take 14 s of CPU
pure; 1.9x on placement, 100,000 tasks about 2 s less). ``-O3`` took three times as long
to build and measured no faster (benchmarks/README.md).

Before compiling, the build compiles a probe file that includes ``Python.h``: without a
working C compiler and Python's headers it compiles nothing (mypy is not even run),
prints a warning that says what that costs, and records why in the package
(:data:`ecsnetsim.compiled.BUILD`), so that ``ecsnetsim run`` says it too (pip shows a
build's output only with ``-v``).
"""

import ast
import hashlib
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from Cython.Build import cythonize
except ImportError:  # Cython is a build requirement; without it, pure Python
    cythonize = None

HERE = Path(__file__).resolve().parent


def _constant(name: str):
    """A constant of ``ecsnetsim/compiled.py``, read from its text (setup.py cannot
    import the package)."""
    tree = ast.parse((HERE / "ecsnetsim/compiled.py").read_text())
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and node.targets[0].id == name)


SOURCES = _constant("SOURCES")  # the control plane's digests, beside its library
BUILD = _constant("BUILD")  # what the build compiled, and why not the rest
SLOWER = _constant("SLOWER")  # what running a part from source costs
PARTS = tuple(SLOWER)  # ("engine", "control")
ENGINE = "ecsnetsim.net._cengine"
#: mypyc's optimisation level: -O1 builds in a third of -O3's time, and ran as fast
#: (placing 30,000 tasks: 1.01x the CPU of -O3, 5 pairs; benchmarks/README.md).
MYPYC_OPT = "1"


def parts_asked() -> tuple[str, ...]:
    """The parts ``ECSNETSIM_COMPILE`` asks for (default all); a word it does not know
    stops the build, rather than compile something else than what was meant."""
    value = os.environ.get("ECSNETSIM_COMPILE", "").strip().lower()
    if value in ("", "all"):
        return PARTS
    if value == "none":
        return ()
    words = [w.strip() for w in value.split(",") if w.strip()]
    unknown = [w for w in words if w not in PARTS]
    if unknown:
        sys.exit(f"error: ECSNETSIM_COMPILE={value!r}: expected all, none, or a comma-"
                 f"separated list of {', '.join(PARTS)} (unknown: {', '.join(unknown)})")
    return tuple(p for p in PARTS if p in words)


def _part(ext) -> str:
    return "engine" if ext.name == ENGINE else "control"


class OptionalBuildExt(build_ext):
    """``build_ext`` that compiles the parts asked for when a C compiler works, adds the
    control plane's mypyc extensions only then (mypy runs once, at build time, not each
    time pip reads this file), and warns instead of failing when a part cannot be built."""

    def finalize_options(self):
        # setuptools prepares every extension here, before anything is built: the control
        # plane's are named now, and mypyc writes their C only if the build runs
        known = {ext.name for ext in self.distribution.ext_modules}
        self.distribution.ext_modules.extend(
            ext for ext in control_placeholders() if ext.name not in known)
        if not self.parallel:  # the extensions side by side on every core: the engine's
            self.parallel = True  # one C file beside the control plane's many
        super().finalize_options()

    def run(self):
        self.compiled_sources = {}  # module -> digest of the source mypyc compiled
        self.missing = {}  # part -> why it was not compiled
        asked = parts_asked()
        problem = compiler_problem(self) if asked else None
        for part in asked:
            if problem:
                self.missing[part] = problem
        if "engine" in asked and not any(_part(e) == "engine" for e in self.extensions):
            self.missing.setdefault("engine", "Cython could not translate the engine")
        wanted = [p for p in asked if p not in self.missing]
        self.extensions = [e for e in self.extensions if _part(e) in wanted]
        if "control" in wanted:
            why_not = control_extensions(self.extensions, self.compiled_sources)
            if why_not:
                self.missing["control"] = why_not
                self.extensions = [e for e in self.extensions if _part(e) != "control"]
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure: fall back
            for part in wanted:
                self.missing.setdefault(part, f"the build failed ({exc})")
        self._record(asked)

    def build_extensions(self):
        self.compiler.compile = _in_parallel(self.compiler.compile)
        super().build_extensions()

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self.missing.setdefault(_part(ext), f"{ext.name} did not compile ({exc})")

    def _record(self, asked):
        """Write what was compiled where the package is imported from, remove what an
        earlier build left of the parts not compiled now, and warn of what is missing."""
        built = [p for p in asked if p not in self.missing]
        record = {"asked": list(asked), "compiled": built, "missing": self.missing}
        manifests = {BUILD: json.dumps(record, indent=1, sort_keys=True) + "\n"}
        if "control" in built:
            # ecsnetsim.compiled runs the extensions only for the sources they were
            # compiled from: their digests go beside the library
            manifests[SOURCES] = json.dumps(self.compiled_sources, indent=1,
                                            sort_keys=True) + "\n"
        # in the build (what a wheel installs) and in the source tree (what an editable
        # install imports)
        for root in (Path(self.build_lib), HERE):
            for name, text in manifests.items():
                path = root / "ecsnetsim" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        if self.inplace or getattr(self, "editable_mode", False):
            _remove_stale(HERE / "ecsnetsim", [p for p in PARTS if p not in built])
        if self.missing:
            _warn_pure(self.missing)


def compiler_problem(cmd) -> str | None:
    """Why nothing can be compiled here (None: a probe that includes ``Python.h``
    compiles), found in a fraction of a second, before mypy or Cython's C is attempted."""
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler

    try:
        compiler = new_compiler(compiler=cmd.compiler, force=True)
        customize_compiler(compiler)
        with tempfile.TemporaryDirectory(prefix="ecsnetsim-probe-") as tmp:
            probe = Path(tmp, "probe.c")
            probe.write_text("#include <Python.h>\nint probe(void) { return 0; }\n")
            compiler.compile([str(probe)], output_dir=tmp, include_dirs=cmd.include_dirs)
    except Exception as exc:  # noqa: BLE001 - no compiler, no headers, a broken CC
        return f"no working C compiler with Python's headers ({exc})"
    return None


def _remove_stale(package: Path, parts) -> None:
    """Remove the extensions an earlier in-place build left of ``parts``: an editable
    install would otherwise import them instead of what this build decided."""
    stems = {"engine": ["net/_cengine"],
             "control": [_constant("GROUP")] + [m.removesuffix(".py")
                                                for m in _constant("MODULES")]}
    for part in parts:
        for stem in stems[part]:
            for suffix in EXTENSION_SUFFIXES:
                package.joinpath(stem + suffix).unlink(missing_ok=True)
        if part == "control":
            package.joinpath(SOURCES).unlink(missing_ok=True)


def _warn_pure(missing: dict) -> None:
    """A warning that stands out in a build log: what runs from source, why, its cost."""
    lines = [f"  {part}: {why}" for part, why in missing.items()]
    costs = ", ".join(SLOWER[p] for p in PARTS if p in missing)
    print("\n".join(["", "*" * 78,
                     "warning: ecsnetsim installs without compiled parts; it gives the "
                     "same results,", f"slower ({costs}):", *lines,
                     "To compile them: a C compiler and Python's headers (Debian: apt-get "
                     "install gcc python3-dev),", "then pip install -e . again; "
                     "ECSNETSIM_COMPILE=none installs pure Python without this warning.",
                     "*" * 78, ""]), file=sys.stderr)


def _in_parallel(compile_sources):
    """The compiler's ``compile``, taking an extension's C files on every core at once
    (mypyc writes one per module; one after another they take minutes)."""

    def compile_all(sources, *args, **kwargs):
        if len(sources) < 2:
            return compile_sources(sources, *args, **kwargs)
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            done = pool.map(lambda source: compile_sources([source], *args, **kwargs),
                            sources)
            return [obj for objects in done for obj in objects]

    return compile_all


GROUP_EXT = "ecsnetsim.control._compiled"  # mypyc's group; its library adds __mypyc


def _module_name(path: str) -> str:
    return "ecsnetsim." + path.removesuffix(".py").replace("/", ".")


def control_placeholders() -> list:
    """The control plane's extensions as setuptools must know them before the build:
    mypyc's group library and a small module per compiled module, named as mypyc names
    them; :func:`control_extensions` fills them in."""
    modules = _constant("MODULES")
    sources = [f"ecsnetsim/{m}" for m in modules]
    return [Extension(f"{GROUP_EXT}__mypyc", list(sources)),
            *(Extension(_module_name(m), [s]) for m, s in zip(modules, sources, strict=True))]


#: What is taken over from mypyc's extensions into the placeholders.
_EXTENSION_FIELDS = ("sources", "include_dirs", "define_macros", "undef_macros",
                     "library_dirs", "libraries", "runtime_library_dirs", "extra_objects",
                     "extra_compile_args", "extra_link_args", "export_symbols", "depends",
                     "language")


def control_extensions(extensions: list, digests: dict) -> str | None:
    """Run mypyc on the modules :data:`ecsnetsim.compiled.MODULES` names and make the
    placeholders among ``extensions`` its extensions; why not, if it cannot (mypyc not
    at hand, or it failed). ``digests`` gets the digest of each source compiled."""
    modules = _constant("MODULES")
    sources = {m: (HERE / "ecsnetsim" / m).read_bytes() for m in modules}
    try:
        from mypyc.build import mypycify

        made = mypycify([f"ecsnetsim/{m}" for m in modules], multi_file=True,
                        group_name=GROUP_EXT, opt_level=MYPYC_OPT)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - no mypyc, or it failed (a
        # type error makes it exit): pure Python
        return f"mypyc did not compile it ({exc!r})"
    placeholders = {e.name: e for e in extensions if _part(e) == "control"}
    if sorted(placeholders) != sorted(e.name for e in made):
        return (f"mypyc made other extensions than expected: {sorted(e.name for e in made)}")
    for ext in made:
        # (mypyc writes the group's header beside the group, one C file per module at the
        # top of build/, and does not point the compiler at the header: it is told here)
        ext.include_dirs.append(str(Path("build", "ecsnetsim", "control")))
        for field in _EXTENSION_FIELDS:
            setattr(placeholders[ext.name], field, getattr(ext, field))
        placeholders[ext.name].optional = True
    digests.update({m: hashlib.sha256(text).hexdigest() for m, text in sources.items()})
    return None


PYX = "ecsnetsim/net/_cengine.pyx"
C = "ecsnetsim/net/_cengine.c"  # what Cython makes of it; shipped in the sdist

ext_modules = []
if cythonize is not None and (HERE / PYX).exists():
    try:
        ext_modules = cythonize([PYX], compiler_directives={"language_level": 3}, quiet=True)
    except Exception as exc:  # noqa: BLE001 - a Cython error must not stop the install
        print(f"warning: could not translate the compiled packet engine ({exc})",
              file=sys.stderr)
elif (HERE / C).exists():  # an sdist built without Cython at hand: the C it ships
    ext_modules = [Extension(ENGINE, [C])]
for ext in ext_modules:
    ext.optional = True

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
