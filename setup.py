"""Build of the optional compiled parts: the packet engine and the control plane's hot
modules.

Everything else about the package is in ``pyproject.toml``. Both are optional: without a
C compiler, or if Cython or mypyc cannot be imported or a build fails, the package
installs without them, and runs pure Python with the same results, only slower:

* the packet engine (``ecsnetsim.net._cengine``, Cython) has a pure-Python twin,
  ``ecsnetsim.net._pyengine`` (see :mod:`ecsnetsim.net.engine`);
* the control plane's hot modules (:data:`ecsnetsim.compiled.MODULES`) are compiled by
  mypyc from their own source, which runs as it is when they are not (see
  :mod:`ecsnetsim.compiled`). mypyc runs only when extensions are built, not each time
  pip reads this file.
"""

import ast
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from Cython.Build import cythonize
except ImportError:  # Cython is a build requirement; without it, pure Python
    cythonize = None


class OptionalBuildExt(build_ext):
    """``build_ext`` that adds the control plane's mypyc extensions, and warns instead of
    failing when an extension cannot be built."""

    def finalize_options(self):
        self.compiled_sources = {}  # module -> digest of the source mypyc compiled
        compiled = control_extensions(self.compiled_sources)
        self.distribution.ext_modules.extend(compiled)
        super().finalize_options()

    def build_extensions(self):
        self.compiler.compile = _in_parallel(self.compiler.compile)
        super().build_extensions()

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure: fall back
            print(f"warning: compiled extensions not built ({exc}); using pure Python")
        # ecsnetsim.compiled runs the extensions only for the sources they were compiled
        # from: their digests go beside the library, in the build (what a wheel installs)
        # and in the source tree (what an editable install imports)
        if self.compiled_sources:
            text = json.dumps(self.compiled_sources, indent=1, sort_keys=True) + "\n"
            for root in (Path(self.build_lib), HERE):
                manifest = root / "ecsnetsim" / SOURCES
                manifest.parent.mkdir(parents=True, exist_ok=True)
                manifest.write_text(text)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"warning: {ext.name} not built ({exc}); using pure Python")


HERE = Path(__file__).resolve().parent


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


def _constant(name: str):
    """A constant of ``ecsnetsim/compiled.py``, read from its text (setup.py cannot
    import the package)."""
    tree = ast.parse((HERE / "ecsnetsim/compiled.py").read_text())
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and node.targets[0].id == name)


SOURCES = _constant("SOURCES")


def control_extensions(digests: dict):
    """The mypyc extensions of the modules :data:`ecsnetsim.compiled.MODULES` names, or
    none when mypyc is not at hand or fails; ``digests`` gets the digest of each source
    compiled."""
    modules = _constant("MODULES")
    sources = {m: (HERE / "ecsnetsim" / m).read_bytes() for m in modules}
    try:
        from mypyc.build import mypycify

        extensions = mypycify([f"ecsnetsim/{m}" for m in modules], multi_file=True,
                              group_name="ecsnetsim.control._compiled")
        # (mypyc writes the group's header beside the group, one C file per module at the
        # top of build/, and does not point the compiler at the header: it is told here)
        for ext in extensions:
            ext.include_dirs.append(str(Path("build", "ecsnetsim", "control")))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - no mypyc, or it failed (a
        # type error makes it exit): pure Python
        print(f"warning: control plane not compiled ({exc!r}); using pure Python")
        return []
    for ext in extensions:
        ext.optional = True
    digests.update({m: hashlib.sha256(text).hexdigest() for m, text in sources.items()})
    return extensions
PYX = "ecsnetsim/net/_cengine.pyx"
C = "ecsnetsim/net/_cengine.c"  # what Cython makes of it; shipped in the sdist

ext_modules = []
if cythonize is not None and (HERE / PYX).exists():
    try:
        ext_modules = cythonize([PYX], compiler_directives={"language_level": 3}, quiet=True)
    except Exception as exc:  # noqa: BLE001 - a Cython error must not stop the install
        print(f"warning: could not translate the compiled packet engine ({exc})")
elif (HERE / C).exists():  # an sdist built without Cython at hand: the C it ships
    ext_modules = [Extension("ecsnetsim.net._cengine", [C])]
for ext in ext_modules:
    ext.optional = True

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
