"""Build the compiled kernels in fastnn/_core.

Every ``fastnn/_core/*.pyx`` becomes one extension module.  BLAS comes from
``scipy.linalg.cython_blas`` at run time, so nothing is linked here.

Build switches (environment variables):

* ``FASTNN_OPENMP=0``      build without OpenMP even when the compiler has it
                           (default: use it when a test compile succeeds).
* ``FASTNN_BOUNDSCHECK=1`` turn Cython's bounds and wraparound checks back on,
                           for debugging a kernel.

The default build never uses ``-ffast-math`` or ``-march=native``: results must
be reproducible and the wheel portable.
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

compile_args = ["-O3"]
link_args = []
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

extensions = [
    Extension(
        "fastnn._core." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for path in sorted(glob.glob(os.path.join("fastnn", "_core", "*.pyx")))
]

setup(
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
