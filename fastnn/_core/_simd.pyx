# cython: language_level=3
"""The instruction set of every compiled kernel: one level for the process.

The level is read when this module is imported, from the CPU or the
environment variable ``FASTNN_SIMD`` ("avx512", "avx2", "generic", or
"blas": the matrix products go to BLAS and the other kernels run the best
variant).  Every kernel module follows this module's level (``_simd.h``),
so ``set_simd`` switches all of them at once; the tests use it to check each
variant this CPU runs.
"""

# Read FASTNN_SIMD and the CPU now, at import, not on first use inside a
# kernel running without the GIL (where getenv could race with a Python
# thread changing the environment).
fastnn_simd()

#: The levels, lowest first.
VARIANTS = ("blas", "generic", "avx2", "avx512")


cdef int* level_ref() noexcept nogil:
    return fastnn_simd_ref()


def available():
    """The variants this CPU runs, "blas" first."""
    return VARIANTS[:fastnn_simd_best() + 1]


def simd():
    """The variant every kernel runs now."""
    return VARIANTS[fastnn_simd()]


def set_simd(variant):
    """Run every kernel in ``variant`` (one of ``available()``), as
    ``FASTNN_SIMD`` would at import; returns the previous variant.  For tests
    and benchmarks: not while a kernel runs in another thread."""
    if not isinstance(variant, str) or variant not in available():
        raise ValueError("variant must be one of this CPU's {}, not {!r}".format(
            available(), variant))
    previous = simd()
    fastnn_simd_set(VARIANTS.index(variant))
    return previous
