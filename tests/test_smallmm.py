"""The small-matrix kernels (``fastnn/_core/_smallmm.h``) against numpy.

``_blas.gemm`` sends products with a small side (a mini-batch's rows, or a sum
over them) to our own kernels, compiled for AVX-512F, AVX2 with FMA and
portable C.  Each variant this CPU runs is checked here on every routed
shape: the three products (nt, nn, tn), both dtypes, the small side from 1
to past the routing limit, odd widths, padded rows, alpha and beta, and
beta = 0 over NaN garbage (C must not be read).  A failure names the
variant, the shape and the worst index.
"""
import numpy as np
import pytest

from fastnn._core import _gemm

from helpers import assert_close

VARIANTS = _gemm.available()[1:]          # ours: "generic", and what the CPU runs
SMALL = [1, 2, 5, 9, 10, 11, 17, 32, 64, 65]   # 64: tn_depth in float32 AVX2
WIDE = [1, 7, 8, 9, 15, 16, 17, 33, 1000]
# against a float64 product, relative to the largest sum of |terms|
RTOL = {np.float32: 2e-6, np.float64: 4e-15}
KINDS = {"nt": (False, True), "nn": (False, False), "tn": (True, False)}


def padded(rng, shape, dtype, pad):
    """A random ``shape`` matrix whose rows are ``pad`` elements longer in
    memory than they are wide (a view of a wider array), or contiguous."""
    rows, cols = shape
    base = rng.standard_normal((rows, cols + pad)).astype(dtype)
    return base[:, :cols]


def shapes(kind):
    """(M, N, K) for ``kind`` with the small side from SMALL and the others
    from WIDE (and a short other side, as network layers have)."""
    out = []
    for s in SMALL:
        for n in WIDE:
            for k in (1, 7, 16, 17, 33, 784):
                out.append((s, n, k) if kind != "tn" else (n, k, s))
    return out


def check(variant, kind, dtype, M, N, K, alpha, beta, pad, rng):
    trans_a, trans_b = KINDS[kind]
    A = padded(rng, (K, M) if trans_a else (M, K), dtype, pad)
    B = padded(rng, (N, K) if trans_b else (K, N), dtype, pad)
    C = padded(rng, (M, N), dtype, pad)
    a64 = (A.T if trans_a else A).astype(np.float64)
    b64 = (B.T if trans_b else B).astype(np.float64)
    desired = alpha * (a64 @ b64)
    # the size of the terms summed, which bounds the rounding (the sum itself
    # may cancel to nearly zero)
    size = abs(alpha) * (np.abs(a64) @ np.abs(b64))
    if beta == 0:
        C[...] = np.nan                   # garbage that must not reach the result
    else:
        desired += beta * C.astype(np.float64)
        size += abs(beta) * np.abs(C.astype(np.float64))
    ran = _gemm.gemm(trans_a, trans_b, alpha, A, B, beta, C, variant)
    what = "{} {} {} M={} N={} K={} alpha={} beta={} pad={}".format(
        variant, kind, np.dtype(dtype).name, M, N, K, alpha, beta, pad)
    # kind, or BLAS for short wide dots and, in some variants, nt past its rows
    expected = _gemm.route(trans_a, trans_b, M, N, K, dtype, variant)
    assert ran == expected == (kind if expected != "blas" else "blas"), \
        "{}: ran {!r}, not the {!r} the routing rule picks".format(what, ran, expected)
    assert_close(C, desired.astype(dtype), what, atol=RTOL[dtype] * float(size.max()))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_against_numpy(variant, kind, dtype):
    rng = np.random.default_rng(hash((variant, kind, np.dtype(dtype).name)) % 2**32)
    for i, (M, N, K) in enumerate(shapes(kind)):
        alpha, beta = [(1.0, 0.0), (-0.37, 1.0), (2.5, 0.75)][i % 3]
        check(variant, kind, dtype, M, N, K, alpha, beta, pad=(0, 3, 16)[i % 3], rng=rng)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_garbage_with_beta_zero(variant, dtype):
    """beta = 0 writes C without reading it, in every block and tail."""
    rng = np.random.default_rng(3)
    for kind in sorted(KINDS):
        for M, N, K in [(10, 33, 17), (1, 1, 1), (13, 1000, 9)]:
            if kind == "tn":
                M, K = N, M
            check(variant, kind, dtype, M, N, K, 1.0, 0.0, pad=5, rng=rng)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_routing(variant, dtype):
    """The small side decides: at most nt_rows rows of A (nt; SMALL_DIM but
    in the AVX2 variant, where BLAS is faster from 15 rows in float64 and 25
    in float32), at most SMALL_DIM rows of A (nn), or a sum over at most
    tn_depth terms (tn; SMALL_DIM but in the AVX2 variant in float32, where
    ours is faster up to 64); both transposed never."""
    s, r = _gemm.SMALL_DIM, _gemm.nt_rows(dtype, variant)
    d = _gemm.tn_depth(dtype, variant)
    avx2 = variant == "avx2"
    assert 10 <= r <= s and r == ({"float64": 14, "float32": 24}[np.dtype(dtype).name]
                                  if avx2 else s)
    assert d == (64 if avx2 and dtype == np.float32 else s)
    route = lambda *shape: _gemm.route(*shape, dtype=dtype, variant=variant)  # noqa: E731
    assert route(False, True, r, 1000, 1000) == "nt"
    assert route(False, False, s, 1000, 1000) == "nn"
    assert route(True, False, 1000, 1000, d) == "tn"
    assert route(False, True, r + 1, 1000, 1000) == "blas"
    assert route(False, False, s + 1, 1000, 1000) == "blas"
    assert route(True, False, 1000, 1000, d + 1) == "blas"
    assert route(True, True, 1, 1, 1) == "blas"
    # short dots stay with BLAS (a first convolution's product), whatever N is:
    # a split of the neurons must not change the kernel
    for n in (1, 10, 128, 2304):
        assert route(False, True, 10, n, s - 1) == "blas"
        assert route(False, True, 10, n, s) == "nt"
    assert route(False, True, 0, 10, 10) == "blas"


def test_the_blas_level_routes_nothing():
    for dtype in (np.float32, np.float64):
        assert _gemm.nt_rows(dtype, "blas") == 0
        assert _gemm.tn_depth(dtype, "blas") == 0
        assert {_gemm.route(ta, tb, 10, 100, 10, dtype, "blas")
                for ta in (False, True) for tb in (False, True)} == {"blas"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_past_the_limit_goes_to_blas(dtype):
    """A small side one past the limit is BLAS's, and still right."""
    rng = np.random.default_rng(5)
    s = _gemm.SMALL_DIM + 1
    A = rng.standard_normal((s, 40)).astype(dtype)
    B = rng.standard_normal((30, 40)).astype(dtype)
    C = np.zeros((s, 30), dtype)
    assert _gemm.gemm(False, True, 1.0, A, B, 0.0, C) == "blas"
    assert_close(C, (A.astype(np.float64) @ B.T).astype(dtype), "blas nt", rtol=RTOL[dtype] * 2)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_split_products_are_bitwise_the_whole(variant, kind):
    """Every element is computed the same way whatever block or tail it falls
    in: the first layer split by neurons across threads (nt's columns, tn's
    rows) gives bit for bit the whole product."""
    rng = np.random.default_rng(7)
    trans_a, trans_b = KINDS[kind]
    M, N, K = (53, 784, 10) if kind == "tn" else (10, 53, 784)
    A = rng.standard_normal((K, M) if trans_a else (M, K))
    B = rng.standard_normal((N, K) if trans_b else (K, N))
    C0 = rng.standard_normal((M, N))
    whole = C0.copy()
    _gemm.gemm(trans_a, trans_b, 0.3, A, B, 0.9, whole, variant)
    parts = C0.copy()
    for lo, hi in [(0, 7), (7, 30), (30, 53)]:
        if kind == "tn":                  # split C's rows: A's columns
            _gemm.gemm(True, False, 0.3, A[:, lo:hi], B, 0.9, parts[lo:hi], variant)
        else:                             # split C's columns: B's rows (nt) or columns (nn)
            b = B[lo:hi] if trans_b else B[:, lo:hi]
            _gemm.gemm(False, trans_b, 0.3, A, b, 0.9, parts[:, lo:hi], variant)
    diff = np.argwhere(whole != parts)
    assert diff.size == 0, "{} {}: split differs from whole at {} (first of {})".format(
        variant, kind, diff[0].tolist(), len(diff))


def test_unknown_variant_is_refused():
    A = np.zeros((2, 2))
    with pytest.raises(ValueError, match="variant"):
        _gemm.gemm(False, False, 1.0, A, A, 0.0, A.copy(), "sse9")
