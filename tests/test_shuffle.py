"""The compiled book shuffle against ``random.shuffle`` itself: the same
permutations and the same generator afterwards, bit for bit, over many seeds
and lengths (0, 1, powers of two and their neighbours), in both modes."""
import random

import numpy as np
import pytest

import fastnn
from fastnn import trainer
from fastnn._core import _shuffle

LENGTHS = [0, 1, 2, 3] + [n for k in range(2, 17) for n in (2**k - 1, 2**k, 2**k + 1)] + [50000]


@pytest.mark.parametrize("python2", [False, True], ids=["python3", "python2"])
@pytest.mark.parametrize("seed", [0, 1, 7, 12345678, 2**40 + 3])
def test_compiled_shuffle_is_random_shuffle(seed, python2):
    random.seed(seed)
    for n in LENGTHS:
        random.random()                       # start from varied generator positions
        state = random.getstate()
        x = np.arange(n, dtype=np.int64)
        after = _shuffle.shuffle(x, state, python2)
        random.setstate(state)
        expected = list(range(n))
        if python2:
            trainer.python2_shuffle(expected)
        else:
            random.shuffle(expected)
        assert x.tolist() == expected, "n = {}".format(n)
        assert after == random.getstate(), "generator state after n = {}".format(n)


@pytest.mark.parametrize("style", ["python3", "python2"])
def test_book_order_composes_epochs_as_the_list_shuffle(style):
    fastnn.set_shuffle(style)
    try:
        random.seed(5)
        order = trainer.BookOrder(1000)
        orders = [order().copy() for _ in range(3)]
        random.seed(5)
        data = list(range(1000))
        for epoch in range(3):
            trainer.book_shuffle(data)
            assert orders[epoch].tolist() == data, "epoch {}".format(epoch)
    finally:
        fastnn.set_shuffle("python3")


def test_a_replaced_random_shuffle_is_followed(monkeypatch):
    calls = []

    def my_shuffle(x):
        calls.append(len(x))
        x.reverse()

    monkeypatch.setattr(random, "shuffle", my_shuffle)
    order = trainer.BookOrder(5)
    assert order().tolist() == [4, 3, 2, 1, 0] and calls == [5]


def test_bad_arguments():
    with pytest.raises(TypeError, match="int64"):
        _shuffle.shuffle(np.arange(5, dtype=np.int32), random.getstate())
    with pytest.raises(ValueError, match="not a state of Python's random generator"):
        _shuffle.shuffle(np.arange(5), (3, (1, 2, 3), None))
