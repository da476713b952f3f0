# cython: language_level=3
"""Python-visible twin of ``_blas.gemm`` and of its small-matrix kernels
(``_smallmm.h``), for tests and benchmarks only.

``gemm`` runs one product through a chosen variant ("blas", "generic",
"avx2", "avx512", or None for the one the kernels use), so a test can hold
each instruction set's kernels against numpy on the machine that has it.
The variant the compiled modules use is the process's one level
(``fastnn._core._simd``, whose ``available`` and ``simd`` are here too).
"""
import numpy as np
cimport numpy as cnp

from ._blas cimport (FASTNN_SMALL_DIM, fastnn_smallmm_d_with, fastnn_smallmm_f_with,
                     fastnn_smallmm_nt_rows, fastnn_smallmm_route, fastnn_smallmm_tn_depth,
                     gemm as blas_gemm)
from ._simd cimport fastnn_simd, fastnn_simd_share, level_ref
from ._simd import VARIANTS, available, simd   # noqa: F401  (for the tests and benchmarks)
from scipy.linalg.cython_blas cimport sgemm, dgemm

cnp.import_array()

# this module's kernels follow the process's one level
fastnn_simd_share(level_ref())

#: the largest small side that the products route to our kernels
SMALL_DIM = FASTNN_SMALL_DIM


def _level(variant):
    if variant is None:
        return fastnn_simd()
    if variant not in available():
        raise ValueError("variant {!r} is not one of this CPU's: {}".format(variant, available()))
    return VARIANTS.index(variant)


def route(bint trans_a, bint trans_b, int M, int N, int K, dtype=np.float64, variant=None):
    """Which kernel serves the shape for ``dtype`` in ``variant`` (None: the
    level the kernels use): "nt", "nn", "tn", or "blas"."""
    cdef int size = np.dtype(dtype).itemsize
    return ("blas", "nt", "nn", "tn")[fastnn_smallmm_route(_level(variant), size, trans_a,
                                                           trans_b, M, N, K)]


def nt_rows(dtype=np.float64, variant=None):
    """The most rows of A that the nt kernel takes for ``dtype`` in
    ``variant`` (None: the level the kernels use); 0 at level "blas"."""
    cdef int level = _level(variant)
    return 0 if level == 0 else fastnn_smallmm_nt_rows(level, np.dtype(dtype).itemsize)


def tn_depth(dtype=np.float64, variant=None):
    """The longest sum (the small side K) that the tn kernel takes for
    ``dtype`` in ``variant`` (None: the level the kernels use); 0 at level
    "blas"."""
    cdef int level = _level(variant)
    return 0 if level == 0 else fastnn_smallmm_tn_depth(level, np.dtype(dtype).itemsize)


def _matrix(x, str name, dtype, bint writeable=False):
    if not isinstance(x, np.ndarray) or x.dtype != dtype or x.ndim != 2:
        raise TypeError("{} must be a 2-D {} array".format(name, np.dtype(dtype).name))
    if x.strides[1] != x.itemsize or x.strides[0] % x.itemsize or x.strides[0] < x.shape[1] * x.itemsize:
        raise ValueError("{} must have unit column stride and rows that do not overlap".format(name))
    if writeable and not x.flags.writeable:
        raise ValueError("{} is read-only".format(name))
    return max(x.strides[0] // x.itemsize, 1)


def gemm(bint trans_a, bint trans_b, alpha, A, B, beta, C, variant=None):
    """``C = alpha * op(A) @ op(B) + beta * C`` in place, row-major, through
    ``variant`` (None: what ``_blas.gemm`` does here).  ``A``, ``B`` and
    ``C`` are 2-D with unit column stride; rows may be padded (a view of a
    wider array).  Returns the kernel that ran: "nt", "nn", "tn" or "blas"."""
    dtype = C.dtype if isinstance(C, np.ndarray) else None
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError("C must be a float32 or float64 array")
    cdef int lda = _matrix(A, "A", dtype), ldb = _matrix(B, "B", dtype)
    cdef int ldc = _matrix(C, "C", dtype, True)
    cdef int M = A.shape[1] if trans_a else A.shape[0]
    cdef int K = A.shape[0] if trans_a else A.shape[1]
    cdef int N = B.shape[0] if trans_b else B.shape[1]
    if (B.shape[1] if trans_b else B.shape[0]) != K or C.shape[0] != M or C.shape[1] != N:
        raise ValueError("shapes do not match: op(A) {}x{}, B {}, C {}".format(
            M, K, B.shape, C.shape))
    cdef int level = _level(variant)
    cdef void* a = cnp.PyArray_DATA(<cnp.ndarray>A)
    cdef void* b = cnp.PyArray_DATA(<cnp.ndarray>B)
    cdef void* c = cnp.PyArray_DATA(<cnp.ndarray>C)
    cdef int done
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef float fa = alpha, fb = beta
    cdef double da = alpha, db = beta
    if M == 0 or N == 0:
        return "blas"
    if dtype == np.float32:
        with nogil:
            done = fastnn_smallmm_f_with(level, trans_a, trans_b, M, N, K, fa, <float*>a, lda,
                                         <float*>b, ldb, fb, <float*>c, ldc)
            if not done:
                sgemm(&tb, &ta, &N, &M, &K, &fa, <float*>b, &ldb, <float*>a, &lda, &fb,
                      <float*>c, &ldc)
    else:
        with nogil:
            done = fastnn_smallmm_d_with(level, trans_a, trans_b, M, N, K, da, <double*>a, lda,
                                         <double*>b, ldb, db, <double*>c, ldc)
            if not done:
                dgemm(&tb, &ta, &N, &M, &K, &da, <double*>b, &ldb, <double*>a, &lda, &db,
                      <double*>c, &ldc)
    return route(trans_a, trans_b, M, N, K, dtype, variant) if done else "blas"
