"""fastnn.expand: the book's expand_mnist.py, vectorized and cached."""
import os

import numpy as np
import pytest

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


def test_the_full_expanded_file_loads_back_as_the_book_reads_it(mnist_path, tmp_path, monkeypatch):
    """``python -m fastnn.expand_mnist`` then the book's
    ``load_data_shared("../data/mnist_expanded.pkl.gz")``, at the expanded
    set's real size (images of zeros, so that writing is quick)."""
    from fastnn import expand_mnist
    n = 5 * 50000
    work = tmp_path / "src"
    work.mkdir()
    monkeypatch.chdir(work)
    with monkeypatch.context() as patch:
        patch.setattr(expand, "load_expanded", lambda *a, **k: (
            np.zeros((n, 784), np.float32), np.arange(n, dtype=np.int64) % 10))
        expand_mnist.main(["--data", mnist_path])
    assert (tmp_path / "data" / "mnist_expanded.pkl.gz").is_file()
    training, validation, test = network3.load_data_shared("../data/mnist_expanded.pkl.gz")
    assert training[0].shape == (n, 784) and training[0].dtype == np.float32
    np.testing.assert_array_equal(training[1][:12], np.arange(12) % 10)
    (_, _), (vx, vy), (tx, ty) = datasets.load_mnist(mnist_path)
    np.testing.assert_array_equal(validation[0], vx)
    np.testing.assert_array_equal(test[1], ty)


def test_the_expanded_budget_is_the_expanded_sets_size(tmp_path):
    """The bounded unpickler admits the expanded set's arrays and no more:
    one row more, or a stream declaring more than the set, is refused
    before anything of that size is allocated."""
    import gzip
    import pickle
    import struct
    budget = datasets.EXPANDED_PICKLE
    datasets._check_array_size((250000, 784), np.float32, budget)
    with pytest.raises(pickle.UnpicklingError, match="expanded MNIST pickle"):
        datasets._check_array_size((250001, 784), np.float32, budget)
    with pytest.raises(pickle.UnpicklingError, match="an MNIST pickle"):
        datasets._check_array_size((250000, 784), np.float32)     # the book's file's budget
    hostile = tmp_path / "mnist_expanded.pkl.gz"
    with gzip.open(str(hostile), "wb") as f:      # PROTO 5, BINBYTES8 of a length past the budget
        f.write(b"\x80\x05\x8e" + struct.pack("<Q", budget.stream_bytes + 1))
    with pytest.raises(ValueError, match="more than the [0-9,]+ an expanded MNIST pickle holds"):
        network3.load_data_shared(str(hostile))


@pytest.mark.slow
def test_expand_mnist_peaks_under_1_5_gb(mnist_path, tmp_path):
    """The chapter 6 reader's machine may have 8 GB: the command's peak
    resident memory, measured by a parent whose only child it is."""
    import json
    import subprocess
    import sys
    from helpers import fastnn_env
    parent = ("import json, resource, subprocess, sys\n"
              "done = subprocess.run([sys.executable, '-m', 'fastnn.expand_mnist', '--data', sys.argv[1],"
              " '--out', sys.argv[2]])\n"
              "print(json.dumps([done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n")
    out = subprocess.run([sys.executable, "-c", parent, mnist_path, str(tmp_path / "x.pkl.gz")],
                         env=fastnn_env(), capture_output=True, text=True, timeout=600)
    status, peak_kb = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == 0, out.stderr
    assert peak_kb * 1024 < 1.5e9, "expand_mnist peaked at {:.2f} GB".format(peak_kb * 1024 / 1e9)
