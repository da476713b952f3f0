"""Comparison helpers for the equivalence and gradient tests, and where MNIST is
(import as ``from helpers import ...``)."""
import os

import numpy as np

# the shared copy beside the repository: a last resort for this project's machines
SHARED_MNIST = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "..", "..", "shared", "data", "mnist"))


#: why a test that trains on MNIST is skipped when the files are nowhere
MISSING_MNIST = ("MNIST not found: set FASTNN_DATA to the folder holding the four IDX .gz files "
                 "(or mnist.pkl.gz), or put them in the per-user cache, "
                 "fastnn.datasets.cache_dir()")


def find_mnist():
    """The MNIST path the tests train on, or None: where fastnn itself would look
    (``$FASTNN_DATA``, then the per-user cache), then the shared copy.  Unlike
    the library, never downloads: an incomplete cache is passed over."""
    from fastnn import datasets
    if os.environ.get("FASTNN_DATA"):
        location = datasets.find_data()     # a wrong FASTNN_DATA fails, naming it
    else:
        location = None
        for folder in (datasets.cache_dir(), SHARED_MNIST):
            try:
                location = datasets.find_data(folder)   # an explicit folder is never downloaded into
                break
            except FileNotFoundError:
                pass
    if location is None:
        return None
    if location.kind == "pickle":
        return location.files["pickle"]
    return os.path.dirname(location.files["train_images"])


def require_mnist():
    """``find_mnist()``, or skip the calling test, saying why, when MNIST is nowhere."""
    import pytest
    path = find_mnist()
    if path is None:
        pytest.skip(MISSING_MNIST)
    return path


def assert_close(actual, desired, what, rtol=None, atol=None):
    """Assert two arrays agree, naming ``what`` (layer and tensor) and the worst index.

    ``rtol`` is *normwise*: the largest absolute difference must not exceed
    ``rtol * max|desired|`` (elementwise relative error is meaningless for
    entries that cancel to nearly zero).  ``atol`` bounds the largest absolute
    difference directly.  Give one or both.
    """
    assert rtol is not None or atol is not None, "assert_close needs rtol or atol"
    actual = np.asarray(actual)
    desired = np.asarray(desired)
    assert actual.shape == desired.shape, "{}: shape {} != {}".format(what, actual.shape, desired.shape)
    assert actual.dtype == desired.dtype, "{}: dtype {} != {}".format(what, actual.dtype, desired.dtype)
    assert np.all(np.isfinite(actual)), "{}: non-finite values at {}".format(
        what, np.argwhere(~np.isfinite(actual))[:5].tolist())
    diff = np.abs(actual.astype(np.float64) - desired.astype(np.float64))
    if diff.size == 0:
        return
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    limits = []
    ok = True
    if rtol is not None:
        limits.append("rtol {:g} (normwise, max|desired| = {:.3g})".format(rtol, scale))
        ok &= diff[worst] <= rtol * scale
    if atol is not None:
        limits.append("atol {:g}".format(atol))
        ok &= diff[worst] <= atol
    assert ok, "{}: max |diff| = {:.3g} at index {} (actual {!r}, desired {!r}) exceeds {}".format(
        what, diff[worst], tuple(int(i) for i in worst), actual[worst].item(), desired[worst].item(),
        " and ".join(limits))


def fastnn_env(**variables):
    """The environment for a child Python that must import the same fastnn as
    this process (installed, or built in place), plus ``variables``."""
    import os

    import fastnn
    env = dict(os.environ, **variables)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    # and not the current folder first (``python -c``, ``-m``): from the
    # repository root that is the unbuilt source tree's fastnn/
    env["PYTHONSAFEPATH"] = "1"
    return env


def central_difference(f, x, index, h=1e-6):
    """(f(x + h e_i) - f(x - h e_i)) / 2h for the entry ``index`` of array ``x``
    (changed in place and restored): the finite-difference gradient checks."""
    old = x[index]
    x[index] = old + h
    plus = f()
    x[index] = old - h
    minus = f()
    x[index] = old
    return (plus - minus) / (2*h)


def toy_data(rng, n, n_in, n_out, labels=False):
    """n book-style pairs: (n_in, 1) inputs, one-hot (n_out, 1) targets or int labels."""
    data = []
    for _ in range(n):
        x = rng.random((n_in, 1))
        k = int(rng.integers(n_out))
        if labels:
            data.append((x, np.int64(k)))
        else:
            y = np.zeros((n_out, 1))
            y[k] = 1.0
            data.append((x, y))
    return data


def at_offset(a, offset):
    """A copy of ``a`` whose data starts ``offset`` bytes past a 64-byte boundary."""
    raw = np.empty(a.nbytes + 128, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.ctypes.data % 64 == offset and out.flags.c_contiguous
    return out


def make_net(sizes, dtype, rng):
    """Weights N(0, 1/fan-in), biases N(0, 1), 1-D, as the kernels take them."""
    weights = [(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(n_out).astype(dtype) for n_out in sizes[1:]]
    return weights, biases


def make_data(sizes, n, dtype, rng):
    """Inputs in [0, 1) and one-hot targets (what softmax/log-likelihood expects)."""
    X = rng.random((n, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(sizes[-1], size=n)]
    return X, Y
