"""Tests for fastnn.datasets and fastnn.mnist_loader.

The real MNIST files are found as the library finds them (FASTNN_DATA, which
CI points at the shared copy, or the per-user cache), else in
../shared/data/mnist next to the repository.  Nothing here touches the
network: every test runs with the download cache in tmp_path and the mirror
replaced by a file:// URL.
"""
import gzip
import hashlib
import os
import pathlib
import pickle
import re

import numpy as np
import pytest

from fastnn import datasets, mnist_loader
from helpers import find_mnist

REPO = pathlib.Path(__file__).resolve().parent.parent
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _shared_mnist_dir():
    return pathlib.Path(find_mnist() or REPO.parent / "shared" / "data" / "mnist")


SHARED = _shared_mnist_dir()


@pytest.fixture
def mnist_dir():
    if not all((SHARED / name).is_file() for name in datasets.MNIST_FILES):
        pytest.skip("MNIST IDX files not found in {} (set FASTNN_DATA)".format(SHARED))
    return SHARED


@pytest.fixture(autouse=True)
def no_network(tmp_path, monkeypatch):
    """Cache in tmp, no FASTNN_DATA, and a mirror that exists only locally:
    an unexpected download fails here instead of reaching the internet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", (tmp_path / "no-such-mirror").as_uri())


def _write_idx(path, array, code, compress=False):
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    data = header + array.tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        pathlib.Path(path).write_bytes(data)
    return data


# --------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------

def test_read_idx_mnist_files(mnist_dir):
    train_x = datasets.read_idx(mnist_dir / "train-images-idx3-ubyte.gz")
    train_y = datasets.read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")
    test_x = datasets.read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    test_y = datasets.read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert train_x.shape == (60000, 28, 28) and train_x.dtype == np.uint8
    assert test_x.shape == (10000, 28, 28) and test_x.dtype == np.uint8
    assert train_y.shape == (60000,) and train_y.dtype == np.uint8
    assert test_y.shape == (10000,) and test_y.dtype == np.uint8
    assert np.bincount(train_y, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(test_y, minlength=10).tolist() == TEST_COUNTS
    assert train_x.min() == 0 and train_x.max() == 255
    assert test_x.min() == 0 and test_x.max() == 255
    # md5 of the uncompressed training images, as published in SOURCES.md
    header = bytes([0, 0, 8, 3]) + np.array([60000, 28, 28], ">u4").tobytes()
    assert hashlib.md5(header + train_x.tobytes()).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"
    assert train_x.flags.writeable


@pytest.mark.parametrize("code,dtype", [
    (0x08, np.uint8), (0x09, np.int8), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_dtypes(tmp_path, code, dtype, compress):
    values = np.arange(-12, 12).reshape(2, 3, 4)
    if np.dtype(dtype).kind == "u":
        values = values + 12
    stored = values.astype(dtype)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    _write_idx(path, stored, code, compress)
    out = datasets.read_idx(path)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.dtype(dtype).newbyteorder("=")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_read_idx_uncompressed_equals_gz(tmp_path, mnist_dir):
    raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "t10k-labels-idx1-ubyte"),
                                  datasets.read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz"))


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_truncated_or_oversized(tmp_path, compress):
    data = _write_idx(tmp_path / "full", np.zeros((5, 28, 28), np.uint8), 0x08)
    for name, content, word in [("short-images-idx3-ubyte", data[:-100], "truncated"),
                                ("long-images-idx3-ubyte", data + b"\0" * 7, "trailing")]:
        path = tmp_path / (name + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(content) if compress else content)
        with pytest.raises(ValueError) as e:
            datasets.read_idx(path)
        msg = str(e.value)
        assert name in msg and word in msg
        assert "(5, 28, 28)" in msg and "3920" in msg     # expected vs found


def test_read_idx_cut_gzip_stream(tmp_path, mnist_dir):
    gz = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gz[: len(gz) // 2])        # a half-downloaded file
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz"):
        datasets.read_idx(path)


def test_read_idx_bad_magic(tmp_path):
    path = tmp_path / "notidx"
    path.write_bytes(b"\x01\x02\x08\x01" + b"\0" * 20)
    with pytest.raises(ValueError, match="notidx.*magic"):
        datasets.read_idx(path)
    path.write_bytes(b"\0\0\x07\x01" + b"\0" * 20)          # unknown type code
    with pytest.raises(ValueError, match="magic"):
        datasets.read_idx(path)


# --------------------------------------------------------------------------
# load_mnist, load_mnist_raw
# --------------------------------------------------------------------------

def test_load_mnist_splits_and_scaling(mnist_dir):
    training, validation, test = datasets.load_mnist(mnist_dir)
    raw = datasets.load_mnist_raw(mnist_dir)
    for (images, labels), n in zip((training, validation, test), (50000, 10000, 10000)):
        assert images.shape == (n, 784) and images.dtype == np.float32
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert 0.0 <= images.min() and images.max() < 1.0
    assert raw["train_images"].shape == (60000, 28, 28) and raw["train_images"].dtype == np.uint8
    assert raw["test_images"].shape == (10000, 28, 28) and raw["test_labels"].shape == (10000,)
    pixels = raw["train_images"].reshape(60000, 784)
    # training = first 50,000 of the training file, validation = the last 10,000
    np.testing.assert_array_equal(training[1], raw["train_labels"][:50000])
    np.testing.assert_array_equal(validation[1], raw["train_labels"][50000:])
    np.testing.assert_array_equal(test[1], raw["test_labels"])
    # pixel/256 exactly: float64 division and the float32 values agree bit for bit
    assert np.array_equal(training[0], pixels[:50000] / 256.0)
    assert np.array_equal(validation[0], pixels[50000:] / 256.0)
    assert np.array_equal(test[0], raw["test_images"].reshape(10000, 784) / 256.0)
    assert np.array_equal(validation[0] * 256, pixels[50000:])
    counts = np.bincount(np.concatenate([training[1], validation[1]]), minlength=10)
    assert counts.tolist() == TRAIN_COUNTS
    assert np.bincount(test[1], minlength=10).tolist() == TEST_COUNTS


def test_load_mnist_cached_and_read_only(mnist_dir, monkeypatch):
    first = datasets.load_mnist(mnist_dir)
    monkeypatch.setenv("FASTNN_DATA", str(mnist_dir))
    second = datasets.load_mnist()
    assert second[0][0] is first[0][0]           # not decoded again
    for images, labels in first:
        assert not images.flags.writeable and not labels.flags.writeable
    with pytest.raises(ValueError):
        first[0][0][0, 0] = 1.0
    with pytest.raises(ValueError):
        first[1][0].flags.writeable = True       # a view of a read-only base
    assert not datasets.load_mnist_raw(mnist_dir)["train_images"].flags.writeable


def test_find_data_prefers_path_then_env(tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "elsewhere"))
    loc = datasets.find_data(mnist_dir)
    assert loc.kind == "idx"
    assert loc.files["train_images"] == str(mnist_dir / "train-images-idx3-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="FASTNN_DATA"):
        datasets.find_data()


def test_cache_dir(monkeypatch, tmp_path):
    assert datasets.cache_dir() == str(tmp_path / "xdg-cache" / "fastnn" / "mnist")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.cache_dir() == str(tmp_path / "home" / ".cache" / "fastnn" / "mnist")


# --------------------------------------------------------------------------
# mnist_loader
# --------------------------------------------------------------------------

def test_load_data_matches_load_mnist_and_is_writable(mnist_dir):
    shared = datasets.load_mnist(mnist_dir)
    data = mnist_loader.load_data(mnist_dir)
    assert isinstance(data, tuple) and len(data) == 3
    for (images, labels), (s_images, s_labels) in zip(data, shared):
        assert np.array_equal(images, s_images) and np.array_equal(labels, s_labels)
        assert images.dtype == np.float32 and labels.dtype == np.int64
        assert images.flags.writeable
    data[0][0][0, 0] = 5.0
    assert shared[0][0][0, 0] == 0.0              # the cache is untouched


def test_load_data_wrapper_formats(mnist_dir):
    shared = datasets.load_mnist(mnist_dir)
    training, validation, test = mnist_loader.load_data_wrapper(mnist_dir)
    assert [type(d) for d in (training, validation, test)] == [list, list, list]
    assert (len(training), len(validation), len(test)) == (50000, 10000, 10000)
    for x, y in training[:3] + training[-3:]:
        assert x.shape == (784, 1) and x.dtype == np.float32
        assert y.shape == (10, 1) and y.dtype == np.float64
    for data in (validation, test):
        for x, y in data[:3] + data[-3:]:
            assert x.shape == (784, 1) and x.dtype == np.float32
            assert type(y) is np.int64
    # one-hot targets: exactly one 1.0, at the label
    targets = np.stack([y for _, y in training])[:, :, 0]
    assert np.array_equal(targets.sum(axis=1), np.ones(50000))
    assert np.array_equal(targets.argmax(axis=1), shared[0][1])
    assert set(np.unique(targets)) == {0.0, 1.0}
    np.testing.assert_array_equal(training[123][1], mnist_loader.vectorized_result(shared[0][1][123]))
    # inputs are the images, as columns, in order
    assert np.array_equal(np.stack([x for x, _ in training])[:, :, 0], shared[0][0])
    assert np.array_equal(np.stack([x for x, _ in validation])[:, :, 0], shared[1][0])
    assert [int(y) for _, y in test] == shared[2][1].tolist()
    # each example is independently writable
    x0, x1 = training[0][0], training[1][0]
    assert x0.flags.writeable
    before = x1.copy()
    x0 += 1.0
    assert np.array_equal(x1, before)
    assert not np.array_equal(x0[:, 0], shared[0][0][0])      # and the cache is untouched
    assert np.array_equal(x0[:, 0] - 1.0, shared[0][0][0])


def test_vectorized_result():
    for j in range(10):
        e = mnist_loader.vectorized_result(j)
        assert e.shape == (10, 1) and e.dtype == np.float64
        assert e[j, 0] == 1.0 and e.sum() == 1.0


# --------------------------------------------------------------------------
# Missing data and downloads (file:// mirrors only)
# --------------------------------------------------------------------------

def test_missing_with_explicit_path(tmp_path, monkeypatch, mnist_dir):
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz"):
        os.symlink(mnist_dir / name, partial / name)
    # A working mirror is available, but an explicit location must not download.
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", mnist_dir.as_uri())
    with pytest.raises(FileNotFoundError) as e:
        datasets.load_mnist(partial)
    msg = str(e.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and str(partial) in msg
    assert re.search(r"\): missing (.*) \(gzipped", msg).group(1) == "t10k-labels-idx1-ubyte.gz"
    assert "FASTNN_DATA" in msg and "path" in msg
    monkeypatch.setenv("FASTNN_DATA", str(partial))
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz") as e:
        mnist_loader.load_data()
    assert str(partial) in str(e.value) and "given by FASTNN_DATA" in str(e.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.find_data(tmp_path / "nowhere")
    assert not os.path.exists(datasets.cache_dir())          # nothing was downloaded


def _mirror(tmp_path, mnist_dir, corrupt=None):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in datasets.MNIST_FILES:
        if name == corrupt:
            data = bytearray((mnist_dir / name).read_bytes())
            data[100:104] = bytes(b ^ 0xFF for b in data[100:104])
            (mirror / name).write_bytes(bytes(data))
        else:
            os.symlink(mnist_dir / name, mirror / name)
    return mirror


def test_download_into_cache(tmp_path, monkeypatch, capsys, mnist_dir):
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", _mirror(tmp_path, mnist_dir).as_uri())
    loc = datasets.find_data()
    cache = pathlib.Path(datasets.cache_dir())
    assert loc.kind == "idx"
    assert sorted(os.listdir(cache)) == sorted(datasets.MNIST_FILES)       # no temp files left
    for name, info in datasets.MNIST_FILES.items():
        assert not (cache / name).is_symlink()
        assert hashlib.md5((cache / name).read_bytes()).hexdigest() == info["md5"]
        assert (cache / name).stat().st_size == info["size"]
    assert loc.files["test_labels"] == str(cache / "t10k-labels-idx1-ubyte.gz")
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte.gz" in err and "100%" in err
    assert len(err.splitlines()) == 4                                       # one line per file
    # Second time: found in the cache, no mirror needed.
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", (tmp_path / "gone").as_uri())
    assert datasets.find_data() == loc
    labels = datasets.read_idx(loc.files["test_labels"])
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS


def test_download_rejects_corrupt_file(tmp_path, monkeypatch, mnist_dir):
    bad = "t10k-labels-idx1-ubyte.gz"
    mirror = _mirror(tmp_path, mnist_dir, corrupt=bad)
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", mirror.as_uri())
    with pytest.raises(datasets.DownloadError) as e:
        datasets.load_mnist()
    msg = str(e.value)
    cache = pathlib.Path(datasets.cache_dir())
    assert bad in msg and "md5" in msg and mirror.as_uri() in msg
    assert str(cache) in msg and "FASTNN_DATA" in msg
    assert not (cache / bad).exists()
    assert not [f for f in os.listdir(cache) if f.endswith(".part")]
    assert len(os.listdir(cache)) == 3                  # the good files are kept


def test_download_tries_next_mirror(tmp_path, mnist_dir):
    dest = tmp_path / "dest"
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = _mirror(tmp_path, mnist_dir, corrupt="train-labels-idx1-ubyte.gz")
    good = tmp_path / "good"
    good.mkdir()
    os.symlink(mnist_dir / "train-labels-idx1-ubyte.gz", good / "train-labels-idx1-ubyte.gz")
    # empty -> file not found, corrupt -> md5 mismatch for one file, good has that file
    out = datasets.download_mnist(dest, mirrors=[empty.as_uri(), corrupt.as_uri(), good.as_uri()])
    assert out == str(dest)
    for name, info in datasets.MNIST_FILES.items():
        assert hashlib.md5((dest / name).read_bytes()).hexdigest() == info["md5"]


def test_all_mirrors_fail(tmp_path):
    with pytest.raises(datasets.DownloadError) as e:
        datasets.find_data()
    msg = str(e.value)
    for name in datasets.MNIST_FILES:
        assert name in msg
    assert (tmp_path / "no-such-mirror").as_uri() in msg and datasets.cache_dir() in msg
    assert isinstance(e.value, RuntimeError)


def test_unreachable_mirrors_give_one_error_and_no_failed_lines(tmp_path, capsys):
    """Offline: nothing is printed per file and mirror; the first file's
    errors are kept and the other files are not tried."""
    gone = [(tmp_path / "gone1").as_uri(), (tmp_path / "gone2").as_uri()]
    with pytest.raises(datasets.DownloadError) as e:
        datasets.download_mnist(tmp_path / "dest", mirrors=gone)
    assert capsys.readouterr().err == ""
    msg = str(e.value)
    first, *others = list(datasets.MNIST_FILES)
    assert gone[0] in msg and gone[1] in msg
    for name in others:
        assert "{}:\n    not tried: no mirror could be reached for {}".format(name, first) in msg


# --------------------------------------------------------------------------
# The book's mnist.pkl.gz
# --------------------------------------------------------------------------

def _book_pickle(path, sizes=(20, 5, 5), seed=0, mangle=None, numpy_core=False):
    rng = np.random.default_rng(seed)
    sets = []
    for n in sizes:
        pixels = rng.integers(0, 256, size=(n, 784))
        sets.append(((pixels / 256).astype(np.float32), rng.integers(0, 10, size=n).astype(np.int64)))
    sets = tuple(sets)
    if mangle:
        sets = mangle(sets)
    data = pickle.dumps(sets, protocol=2)
    if numpy_core:          # as written by the numpy of 2010, like the book's file
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    with gzip.open(path, "wb") as f:
        f.write(data)
    return sets


@pytest.mark.parametrize("numpy_core", [False, True])
def test_book_pickle(tmp_path, monkeypatch, numpy_core):
    pkl = tmp_path / "mnist.pkl.gz"
    expected = _book_pickle(pkl, numpy_core=numpy_core)
    for where in (pkl, tmp_path):
        data = datasets.load_mnist(where)
        assert datasets.find_data(where).kind == "pickle"
        for (images, labels), (e_images, e_labels) in zip(data, expected):
            assert images.dtype == np.float32 and images.shape == e_images.shape
            assert labels.dtype == np.int64
            assert np.array_equal(images, e_images) and np.array_equal(labels, e_labels)
    monkeypatch.setenv("FASTNN_DATA", str(pkl))
    training, validation, test = mnist_loader.load_data_wrapper()
    assert (len(training), len(validation), len(test)) == (20, 5, 5)
    assert np.argmax(training[7][1]) == expected[0][1][7]
    assert np.array_equal(test[2][0][:, 0], expected[2][0][2])
    raw = datasets.load_mnist_raw()
    assert raw["train_images"].shape == (25, 28, 28) and raw["train_images"].dtype == np.uint8
    assert np.array_equal(raw["train_images"][20:].reshape(5, 784) / 256, expected[1][0])
    assert np.array_equal(raw["test_labels"], expected[2][1])


def test_book_pickle_casts_dtypes(tmp_path):
    pkl = tmp_path / "mnist.pkl.gz"
    _book_pickle(pkl, mangle=lambda s: tuple((x.astype(np.float64), y.astype(np.int32)) for x, y in s))
    for images, labels in datasets.load_mnist(pkl):
        assert images.dtype == np.float32 and labels.dtype == np.int64


@pytest.mark.parametrize("mangle,match", [
    (lambda s: ((s[0][0][:, :700], s[0][1]),) + s[1:], r"\(n, 784\)"),
    (lambda s: (s[0], (s[1][0], s[1][1][:3]), s[2]), "validation data has 5 images"),
    (lambda s: s[:2], "3-tuple"),
    (lambda s: s[:2] + ((s[2][0] * 256, s[2][1]),), r"\[0, 1\]"),
    (lambda s: s[:2] + ((s[2][0], s[2][1] + 10),), "0..9"),
])
def test_book_pickle_wrong_contents(tmp_path, mangle, match):
    pkl = tmp_path / "mnist.pkl.gz"
    _book_pickle(pkl, mangle=mangle)
    with pytest.raises(ValueError, match=match) as e:
        datasets.load_mnist(pkl)
    assert str(pkl) in str(e.value)


def test_book_pickle_truncated_or_hostile(tmp_path):
    pkl = tmp_path / "mnist.pkl.gz"
    _book_pickle(pkl)
    cut = tmp_path / "cut.pkl.gz"
    cut.write_bytes(pkl.read_bytes()[:-200])
    with pytest.raises(ValueError, match="cut.pkl.gz"):
        datasets.load_mnist(cut)
    # A pickle that would run code is refused, not run.
    evil = tmp_path / "evil.pkl.gz"
    marker = tmp_path / "pwned"
    with gzip.open(evil, "wb") as f:
        f.write(b"cos\nsystem\n(V" + "touch {}".format(marker).encode() + b"\ntR.")
    with pytest.raises(ValueError, match="refusing"):
        datasets.load_mnist(evil)
    assert not marker.exists()
