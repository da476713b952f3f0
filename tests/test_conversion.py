"""The drop-ins read mnist_loader's pairs where they already live: no copy,
the same training as from stacked copies, and bad entries still reported at
their position in the caller's list."""
import random

import numpy as np
import pytest

from fastnn import network, network2
from fastnn._core import _pairs


def loader_like(n, n_in=6, n_out=3, seed=0):
    """Pairs laid out as mnist_loader lays them out: views of two blocks."""
    rng = np.random.default_rng(seed)
    xs = rng.random((n, n_in, 1)).astype(np.float32)
    labels = rng.integers(0, n_out, n)
    ys = np.zeros((n, n_out, 1))
    ys[np.arange(n), labels, 0] = 1.0
    return list(zip(list(xs), list(ys))), list(zip(list(xs.copy()), labels))


def test_rows_found_in_place_and_after_a_shuffle():
    train, test = loader_like(50)
    X, Y, rows = _pairs.pair_rows(train, 6, 3)
    assert rows.tolist() == list(range(50))
    assert np.shares_memory(X, train[0][0]) and np.shares_memory(Y, train[0][1])
    random.Random(1).shuffle(train)
    X, Y, rows = _pairs.pair_rows(train, 6, 3)
    for i in range(50):
        np.testing.assert_array_equal(X[rows[i]], train[i][0].ravel())
        np.testing.assert_array_equal(Y[rows[i]], train[i][1].ravel())
    X, rows = _pairs.input_rows(test, 6)
    assert rows.tolist() == list(range(50))


def test_anything_else_is_left_to_stacking():
    train, _ = loader_like(20)
    assert _pairs.pair_rows(train[:10], 6, 3) is None            # part of a block
    assert _pairs.pair_rows(train + train[:1], 6, 3) is None     # a row twice
    copied = [(x.copy(), y) for x, y in train]
    assert _pairs.pair_rows(copied, 6, 3) is None                # separate arrays
    assert _pairs.pair_rows([list(p) for p in train], 6, 3) is None
    assert _pairs.pair_rows([], 6, 3) is None


@pytest.mark.parametrize("module", [network, network2])
def test_training_from_blocks_equals_training_from_copies(module):
    train, test = loader_like(103)
    random.Random(2).shuffle(train)
    results = []
    for data in (train, [(x.copy(), y.copy()) for x, y in train]):
        np.random.seed(4)
        random.seed(5)
        net = module.Network([6, 5, 3])
        net.SGD(data, 2, 10, 0.5)
        results.append(([w.copy() for w in net.weights], [p[0].ravel().tolist() for p in data]))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]        # the caller's lists end shuffled alike


def test_bad_entries_are_named_at_their_list_position():
    train, test = loader_like(30)
    random.Random(3).shuffle(train)
    train[7][0][2, 0] = np.nan
    net = network.Network([6, 5, 3])
    with pytest.raises(ValueError, match="example 7"):
        net.SGD(train, 1, 10, 0.5)
    test = [(x, 5 if i == 4 else y) for i, (x, y) in enumerate(test)]
    with pytest.raises(ValueError, match=r"labels\[4\] = 5 is out of range"):
        net.evaluate(test)


def test_odd_pairs_are_left_to_stacking():
    """Everything the compiled walk checks, each in one entry mid-list (the
    walk reads ahead of the entry it checks)."""
    train, _ = loader_like(40)
    x, y = train[20]
    cases = {
        "not a tuple": [x, y],
        "a 3-tuple": (x, y, y),
        "x not an array": (x.tolist(), y),
        "x from another block": (x.copy(), y),
        "y from another block": (x, y.copy()),
        "y of another row": (x, train[21][1]),
        "x a part of a row": (x[:3], y),
        "x not contiguous": (train[20][0][::2], y),
        "x of another dtype": (x.view(np.int32), y),
        "not a pair at all": None,
    }
    for what, entry in cases.items():
        data = list(train)
        data[20] = entry
        assert _pairs.pair_rows(data, 6, 3) is None, what
    data = list(train)
    data[20] = (x, 7)                     # a label where a vector belongs
    assert _pairs.pair_rows(data, 6, 3) is None
    assert _pairs.input_rows(data, 6) is not None     # inputs alone still fit


@pytest.mark.parametrize("n", [0, 1, 2, 17, 1000])
def test_permute_moves_the_references(n):
    import sys
    items = [object() for _ in range(n)]
    counts = [sys.getrefcount(o) for o in items]
    order = np.random.default_rng(n).permutation(n)
    expected = [items[i] for i in order]
    _pairs.permute(items, order)
    assert all(a is b for a, b in zip(items, expected)) and len(items) == n
    del expected
    assert [sys.getrefcount(o) for o in items] == [counts[i] for i in order]


def test_permute_refuses_what_is_not_a_permutation():
    items = list("abcd")
    for order in ([0, 1, 2], [0, 1, 2, 2], [0, 1, 2, 4], [-1, 0, 1, 2], [[0, 1], [2, 3]],
                  [0.0, 1.0, 2.0, 3.0]):
        with pytest.raises(ValueError):
            _pairs.permute(items, order)
        assert items == list("abcd")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 7, 15, 16, 17, 33, 1000])
def test_value_range_is_min_and_max_in_one_pass(dtype, n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(dtype)
    assert _pairs.value_range(a) == (float(a.min()), float(a.max()))
    for where in sorted({0, n // 2, n - 1}):
        for bad in (np.inf, -np.inf):
            b = a.copy()
            b[where] = bad
            assert _pairs.value_range(b) == (float(b.min()), float(b.max())), (where, bad)
        b = a.copy()
        b[where] = np.nan
        assert np.isnan(_pairs.value_range(b)).all(), where
    assert _pairs.value_range(a[:0]) is None
    assert _pairs.value_range(np.arange(n)) is None                 # integers: numpy's min and max
    if n > 1:
        assert _pairs.value_range(np.repeat(a, 2)[::2]) is None     # not contiguous
