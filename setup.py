"""Build the compiled kernels in fastnn/_core.

Every ``fastnn/_core/*.pyx`` becomes one extension module.  BLAS comes from
``scipy.linalg.cython_blas`` at run time, so nothing is linked here.

Build switches (environment variables):

* ``FASTNN_OPENMP=0``      build without OpenMP even when the compiler has it
                           (default: use it when a test compile succeeds).
                           Without OpenMP the kernels run one thread, and the
                           build says so.
* ``FASTNN_PORTABLE=1``    compile only the portable C variant of the kernels
                           (no AVX2/AVX-512 variants chosen at run time).
* ``FASTNN_BOUNDSCHECK=1`` turn Cython's bounds and wraparound checks back on,
                           for debugging a kernel.

Compilers: GCC or Clang.  The kernels' C uses their extensions (vector types,
``__atomic`` builtins, function target attributes), which Microsoft's ``cl``
does not have; on Windows the build therefore compiles with LLVM's
``clang-cl`` (found on ``PATH``, or named by ``FASTNN_CLANG_CL``), links with
Microsoft's tools as usual, and builds the portable variant without OpenMP.
The AVX2/AVX-512 variants are compiled only for x86 with GCC or Clang on
Linux and macOS; elsewhere (aarch64, Windows) the kernels are portable C.

The default build never uses ``-ffast-math`` or ``-march=native``: results must
be reproducible and the wheel portable (``-fno-math-errno`` changes no result).
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _compiler_has_openmp():
    if os.environ.get("FASTNN_OPENMP", "1") == "0" or sys.platform == "win32":
        return False
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n")
        try:
            r = subprocess.run([cc, "-fopenmp", src, "-o", os.path.join(tmp, "omp")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            return False
        return r.returncode == 0


OPENMP = _compiler_has_openmp()
DEBUG_CHECKS = os.environ.get("FASTNN_BOUNDSCHECK", "0") == "1"
PORTABLE = os.environ.get("FASTNN_PORTABLE", "0") == "1" or sys.platform == "win32"
if not OPENMP:
    print("fastnn: building without OpenMP (FASTNN_OPENMP=0, Windows, or the compiler has no "
          "-fopenmp): the kernels will run one thread", file=sys.stderr)

# -fno-math-errno: sqrt need not set errno, so the optimizers' steps (Adam's
# sqrt) vectorize; every result is the same IEEE-rounded value (unlike
# -ffast-math, it changes no arithmetic)
compile_args = ["-O3", "-fno-math-errno"]
link_args = []
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if PORTABLE:
    macros.append(("FASTNN_PORTABLE", "1"))


class BuildExt(build_ext):
    """Compile the modules in parallel (one per core, unless ``-j`` says otherwise);
    on MSVC's toolchain, compile with clang-cl (see the module docstring)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            clang_cl = os.environ.get("FASTNN_CLANG_CL") or shutil.which("clang-cl")
            if not clang_cl:
                raise RuntimeError(
                    "fastnn's kernels need GCC or Clang: install LLVM (its clang-cl) or name "
                    "it in FASTNN_CLANG_CL; Microsoft's cl cannot compile them")
            if not self.compiler.initialized:
                self.compiler.initialize()
            self.compiler.cc = clang_cl
            for ext in self.extensions:
                ext.extra_compile_args = ["/O2"]
                ext.extra_link_args = []
        super().build_extensions()

# Every module is rebuilt when any of the kernels' C headers changes: Cython
# tracks the headers a .pyx or .pxd names, but not those a header includes
# (_smallmm.h includes _smallmm_body.h), and without this setuptools would
# keep a module compiled from the old one.
HEADERS = sorted(glob.glob(os.path.join("fastnn", "_core", "*.h")))

extensions = [
    Extension(
        "fastnn._core." + os.path.splitext(os.path.basename(path))[0],
        [path],
        depends=HEADERS,
        include_dirs=[numpy.get_include()],
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for path in sorted(glob.glob(os.path.join("fastnn", "_core", "*.pyx")))
]

setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": DEBUG_CHECKS,
            "wraparound": DEBUG_CHECKS,
            "initializedcheck": DEBUG_CHECKS,
            "cdivision": True,
            "nonecheck": False,
        },
    ),
)
