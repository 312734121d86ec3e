"""Build of the optional compiled packet engine (``ecsnetsim.net._cengine``).

Everything else about the package is in ``pyproject.toml``. The extension is optional:
without a C compiler, or if Cython cannot be imported or the build fails, the package
installs without it and :mod:`ecsnetsim.net.engine` runs its pure-Python twin
(``ecsnetsim.net._pyengine``), which gives the same results, only slower.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from Cython.Build import cythonize
except ImportError:  # Cython is a build requirement; without it, pure Python
    cythonize = None


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when the extension cannot be built."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure: fall back
            print(f"warning: compiled packet engine not built ({exc}); using pure Python")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"warning: {ext.name} not built ({exc}); using pure Python")


HERE = Path(__file__).resolve().parent
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
