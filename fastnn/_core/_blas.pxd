# cython: language_level=3
"""Row-major BLAS for fastnn's kernels, written once for float32 and float64.

BLAS is column-major; a row-major matrix is its column-major transpose, so
``C = op(A) @ op(B)`` in row-major is computed as ``C^T = op(B)^T @ op(A)^T``
by swapping the operands (as scikit-learn's _cython_blas does).  The BLAS
comes from scipy.linalg.cython_blas: nothing is linked at build time.

Products with a small side (a mini-batch's rows, or a sum over them) go to
our own kernels instead (``_smallmm.h``), in the variant of the process's
instruction-set level (``_simd.pxd``): BLAS serves those shapes unevenly.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm, saxpy, daxpy


cdef extern from "_smallmm.h" nogil:
    int FASTNN_SMALL_DIM
    int fastnn_smallmm_nt_rows(int level, int elsize)
    int fastnn_smallmm_tn_depth(int level, int elsize)
    int fastnn_smallmm_route(int level, int elsize, int trans_a, int trans_b, int M, int N, int K)
    int fastnn_smallmm_f(int trans_a, int trans_b, int M, int N, int K, float alpha,
                         const float* A, int lda, const float* B, int ldb, float beta,
                         float* C, int ldc)
    int fastnn_smallmm_d(int trans_a, int trans_b, int M, int N, int K, double alpha,
                         const double* A, int lda, const double* B, int ldb, double beta,
                         double* C, int ldc)
    int fastnn_smallmm_f_with(int level, int trans_a, int trans_b, int M, int N, int K,
                              float alpha, const float* A, int lda, const float* B, int ldb,
                              float beta, float* C, int ldc)
    int fastnn_smallmm_d_with(int level, int trans_a, int trans_b, int M, int N, int K,
                              double alpha, const double* A, int lda, const double* B, int ldb,
                              double beta, double* C, int ldc)


cdef inline void gemm(bint trans_a, bint trans_b, int M, int N, int K,
                      floating alpha, const floating* A, int lda,
                      const floating* B, int ldb, floating beta,
                      floating* C, int ldc) noexcept nogil:
    """Row-major ``C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C``.

    ``op(X)`` is ``X.T`` when its flag is set; ``lda``, ``ldb`` and ``ldc`` are
    the row strides (in elements) of the matrices as stored.  With ``beta``
    0, ``C`` is not read.
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        if fastnn_smallmm_f(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
            return
        sgemm(&tb, &ta, &N, &M, &K, &alpha, <float*>B, &ldb, <float*>A, &lda,
              &beta, C, &ldc)
    else:
        if fastnn_smallmm_d(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
            return
        dgemm(&tb, &ta, &N, &M, &K, &alpha, <double*>B, &ldb, <double*>A, &lda,
              &beta, C, &ldc)


cdef inline void axpy(int n, floating alpha, const floating* x, floating* y) noexcept nogil:
    """``y += alpha * x`` over ``n`` contiguous elements."""
    cdef int one = 1
    if floating is float:
        saxpy(&n, &alpha, <float*>x, &one, y, &one)
    else:
        daxpy(&n, &alpha, <double*>x, &one, y, &one)
