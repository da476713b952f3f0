"""fastnn.expand: the book's expand_mnist.py, vectorized and cached."""
import os

import numpy as np

from fastnn import datasets, expand, network3


def book_expand(images, labels):
    """expand_mnist.py's loop, without its shuffle."""
    pairs = []
    for x, y in zip(images, labels):
        pairs.append((x, y))
        image = np.reshape(x, (-1, 28))
        for d, axis, index_position, index in [
                (1, 0, "first", 0), (-1, 0, "first", 27), (1, 1, "last", 0), (-1, 1, "last", 27)]:
            new_img = np.roll(image, d, axis)
            if index_position == "first":
                new_img[index, :] = np.zeros(28)
            else:
                new_img[:, index] = np.zeros(28)
            pairs.append((np.reshape(new_img, 784), y))
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def test_shifts_match_the_books_loop():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 784)).astype(np.uint8)
    labels = rng.integers(0, 10, 7)
    want_x, want_y = book_expand(images, labels)
    got = expand.shift_images(images.reshape(7, 28, 28)).reshape(35, 784)
    assert np.array_equal(got, want_x)
    x, y = expand.expand(images, labels, seed=3)
    order = np.random.default_rng(3).permutation(35)
    assert np.array_equal(x, want_x[order]) and np.array_equal(y, want_y[order])


def test_load_expanded_builds_then_reuses_the_cache(mnist_path, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tx, ty), _, _ = datasets.load_mnist(mnist_path)
    x, y = expand.load_expanded(mnist_path, seed=0)
    assert x.shape == (5*len(tx), 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(np.bincount(y), 5*np.bincount(ty))
    # every original image is in the set, and a shifted copy sits beside it in the unshuffled order
    order = np.random.default_rng(0).permutation(len(x))
    unshuffled = x[np.argsort(order)[:10]]       # the first images before the shuffle
    assert np.array_equal(unshuffled[0], tx[0])
    assert np.array_equal(unshuffled[1].reshape(28, 28)[1:], tx[0].reshape(28, 28)[:-1])
    files = os.listdir(os.path.join(str(tmp_path), "fastnn", "mnist"))
    assert [f for f in files if f.startswith("mnist_expanded")] and not [f for f in files if f.startswith(".")]
    x2, y2 = expand.load_expanded(mnist_path, seed=0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    data = network3.load_data_shared(mnist_path, expanded=True)
    assert np.array_equal(data[0][0], x) and len(data[1][0]) == 10000
