"""One instruction-set level for every kernel (``fastnn._core._simd``).

Each compiled module follows the level ``_simd`` holds, so one switch
reaches all of them; every kernel with vector variants (the products, the
float32 -> float64 conversion, the range check, network3's row kernels,
tests/test_network3_rows.py) is checked here in each variant this CPU runs.
"""
import numpy as np
import pytest

from fastnn import trainer
from fastnn._core import _dense, _gemm, _pairs, _simd

VECTOR = [v for v in _simd.available() if v != "blas"]


@pytest.fixture(params=_simd.available())
def variant(request):
    previous = _simd.set_simd(request.param)
    yield request.param
    _simd.set_simd(previous)


def test_one_switch_reaches_another_module():
    """The level set through _simd is the one _gemm's products follow."""
    rng = np.random.default_rng(0)
    A, B = rng.random((10, 64)), rng.random((50, 64))
    C = np.empty((10, 50))
    previous = _simd.set_simd("blas")
    try:
        assert _gemm.simd() == "blas"
        assert _gemm.gemm(False, True, 1.0, A, B, 0.0, C) == "blas"
        if len(VECTOR) > 0:
            _simd.set_simd(VECTOR[-1])
            assert _gemm.gemm(False, True, 1.0, A, B, 0.0, C) == "nt"
    finally:
        _simd.set_simd(previous)
    np.testing.assert_allclose(C, A @ B.T, rtol=1e-12)


def test_set_simd_names_the_choices():
    with pytest.raises(ValueError, match="variant must be one of"):
        _simd.set_simd("sse9")
    with pytest.raises(ValueError, match="variant must be one of"):
        _simd.set_simd(3)


def test_float32_inputs_convert_exactly_in_every_variant(variant):
    """A float64 network reads float32 rows through the conversion kernel:
    bit for bit the results of the same values given as float64."""
    rng = np.random.default_rng(1)
    sizes = [37, 20, 10]     # 37: a vector's worth and a tail, in every variant
    weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(y) for y in sizes[1:]]
    X32 = rng.standard_normal((70, sizes[0])).astype(np.float32)
    spec = trainer.Spec()
    out32 = _dense.feedforward(weights, biases, X32, spec)
    out64 = _dense.feedforward(weights, biases, X32.astype(np.float64), spec)
    assert np.array_equal(out32, out64), "variant {}: float32 inputs differ".format(variant)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_value_range_in_every_variant(variant, dtype):
    rng = np.random.default_rng(2)
    for n in (1, 7, 16, 37, 1000):
        a = rng.standard_normal(n).astype(dtype)
        assert _pairs.value_range(a) == (float(a.min()), float(a.max())), (variant, n)
        if n >= 3:
            a[n // 2] = np.inf
            a[0] = -np.inf
            assert _pairs.value_range(a) == (-np.inf, np.inf), (variant, n)
        a[n - 1] = np.nan
        lo, hi = _pairs.value_range(a)
        assert np.isnan(lo) and np.isnan(hi), (variant, n)
