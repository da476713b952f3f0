"""One instruction-set level for every kernel (``fastnn._core._simd``).

Each compiled module follows the level ``_simd`` holds, so one switch
reaches all of them; every kernel with vector variants (the products, the
float32 -> float64 conversion, the range check, network3's row kernels,
tests/test_network3_rows.py) is checked here in each variant this CPU runs.
"""
import numpy as np
import pytest

from fastnn import optimizers, trainer
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


STEP_OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(),
    "momentum": lambda: optimizers.SGD(momentum=0.9),
    "nesterov": lambda: optimizers.SGD(momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(),
    "adam-sklearn": lambda: optimizers.Adam(form="sklearn"),
    "adamw": lambda: optimizers.AdamW(weight_decay=0.05),
}
STEP_TERMS = [dict(), dict(l2=5.0), dict(l2=5.0, l1=2.0), dict(alpha=1e-2)]


def _stepped(name, terms, dtype, n, regularize, seed):
    """w, its state and the step count after one optimizer step from a
    random start, in the kernels (``_dense._param_step``, the level in
    force) and in numpy (``optimizers.apply``)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n).astype(dtype)
    w[::5] = 0                                       # sgn(0) = 0 for L1
    g = rng.standard_normal(n).astype(dtype)
    g[::3] = 0                                       # rare inputs: decaying state ...
    optimizer = STEP_OPTIMIZERS[name]()
    k = optimizer.n_state()
    state = [rng.standard_normal(n).astype(dtype) for _ in range(k)]
    if k == 2:
        state[1] = np.abs(state[1])                  # Adam's second moment is >= 0
    for s in state:                                  # ... about to sink below the normals
        s[::3] = np.finfo(dtype).tiny * rng.uniform(1.0, 1.02, s[::3].shape)
    results = []
    for backend in ("compiled", "numpy"):
        ws, ss = w.copy(), [s.copy() for s in state]
        step = optimizers.Step(0.01 if k != 2 else 1e-3, 500, optimizer=optimizer, t=3, **terms)
        if backend == "compiled":
            layer = []
            for s in ss:
                layer += [s, np.zeros(1, dtype)]
            step.state = [tuple(layer)] if k else None
            _dense._param_step(ws, g, step, 10, regularize)
        else:
            optimizers.apply(ws, g, ss, step, 10, regularize)
        results.append([ws] + ss + [step.t])
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(STEP_OPTIMIZERS))
def test_optimizer_steps_agree_in_every_variant(name, dtype):
    """The optimizers' loops (_steps.h) round alike in every variant, bit for
    bit, and as numpy's step does, for every optimizer, regularization term
    and length (vector bodies and tails), weights and biases."""
    for terms in STEP_TERMS:
        for n in (1, 3, 8, 9, 17, 64, 101):
            for regularize in (True, False):
                seen = {}
                for level in VECTOR:
                    previous = _simd.set_simd(level)
                    try:
                        compiled, reference = _stepped(name, terms, dtype, n, regularize, n)
                    finally:
                        _simd.set_simd(previous)
                    where = "{} {} {} n={} regularize={} variant {}".format(
                        name, terms, np.dtype(dtype).name, n, regularize, level)
                    assert compiled[-1] == reference[-1] == 4, where + ": step count"
                    for i, (a, b) in enumerate(zip(compiled[:-1], reference[:-1])):
                        what = "w" if i == 0 else "state[{}]".format(i - 1)
                        # numpy and C round each operation alike (no fused multiply-add)
                        assert np.array_equal(a, b), "{}: {} differs from numpy at {}".format(
                            where, what, int(np.argmax(a != b)))
                    seen[level] = compiled[:-1]
                first = seen[VECTOR[0]]
                for level, arrays in seen.items():
                    assert all(np.array_equal(a, b) for a, b in zip(arrays, first)), level
