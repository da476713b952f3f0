"""Reproducers for the reliability issue's findings 6-10: each test failed
before its fix.  (The property-based battery is in test_fuzz.py.)"""
import gzip
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from fastnn import MLP
from helpers import fastnn_env


# -- 6. overlapping trainings and the BLAS thread limit ------------------------

def blas_threads():
    return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas")


def set_blas_threads(n):
    """Set BLAS's threads from a thread that then ends: threadpoolctl lets
    only the first thread to set a limit change it while that thread lives."""
    t = threading.Thread(target=threadpool_limits, kwargs={"limits": n, "user_api": "blas"})
    t.start()
    t.join()


@pytest.fixture
def blas_at_two_threads():
    original = blas_threads()
    set_blas_threads(2)
    before = blas_threads()
    assert before and all(n == 2 for _, n in before), "test needs BLAS at 2 threads: {}".format(before)
    yield before
    for path, n in original:
        set_blas_threads(n)


def test_two_overlapping_fits_leave_blas_threads_as_they_found_them(blas_at_two_threads):
    """Fit A starts, fit B starts, A ends, B ends: the order in which a
    save-and-restore limit leaves BLAS at B's saved value of one thread."""
    a_started, b_started, a_done = threading.Event(), threading.Event(), threading.Event()
    errors, during = [], []
    X = np.random.default_rng(0).random((20, 4))
    y = np.arange(20) % 3

    def fit(started, wait_for):
        def on_epoch(record):
            during.append(blas_threads())
            started.set()
            if not wait_for.wait(timeout=30):
                errors.append("timed out waiting for the other fit")
        try:
            MLP([4, 5, 3], seed=0).fit(X, y, epochs=1, batch_size=5, on_epoch=on_epoch)
        except Exception as exc:       # reported by the main thread
            errors.append(exc)
        finally:
            started.set()

    before = blas_at_two_threads
    a = threading.Thread(target=fit, args=(a_started, b_started))
    b = threading.Thread(target=fit, args=(b_started, a_done))
    a.start()
    assert a_started.wait(30)
    b.start()
    a.join(30)
    a_done.set()
    b.join(30)
    after = blas_threads()
    assert not errors, errors
    assert all(n == 1 for snapshot in during for _, n in snapshot), during
    assert after == before, "BLAS threads were {} before two overlapping fits, {} after".format(before, after)


def test_one_blas_thread_counts_users_in_any_thread(blas_at_two_threads):
    """The first user enters in one thread and the last leaves in another."""
    from fastnn import _blaslimit
    outer = _blaslimit.one_blas_thread()
    entered = threading.Thread(target=outer.__enter__)
    entered.start()
    entered.join()
    with _blaslimit.one_blas_thread():
        assert all(n == 1 for _, n in blas_threads())
    assert all(n == 1 for _, n in blas_threads()), "the inner user restored too early"
    outer.__exit__(None, None, None)
    assert blas_threads() == blas_at_two_threads


# -- 7. saving keeps the file's mode and links, and cleans up after killed writers --

def small_net():
    return MLP([3, 2], seed=0)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path, mode):
    path = tmp_path / "net.json"
    path.write_text("{}")
    os.chmod(path, mode)
    small_net().save(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert MLP.load(str(path)).sizes == [3, 2]


def test_save_of_a_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        small_net().save(str(tmp_path / "net.json"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "net.json").st_mode) == 0o640


def test_save_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "net.json"
    target.write_text("{}")
    link = tmp_path / "net.json"
    link.symlink_to(target)
    small_net().save(str(link))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert MLP.load(str(target)).sizes == [3, 2]
    assert sorted(os.listdir(tmp_path / "real")) == ["net.json"]


def test_next_save_removes_the_temporary_file_of_a_killed_writer(tmp_path):
    """A child dies inside atomic_write, as a save killed mid-write would."""
    path = tmp_path / "net.json"
    code = ("import os, sys\nfrom fastnn._files import atomic_write\n"
            "with atomic_write(sys.argv[1], 'w') as f:\n"
            "    f.write('half a network'); f.flush(); os._exit(9)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], env=fastnn_env(), timeout=60)
    assert done.returncode == 9
    litter = [p for p in os.listdir(tmp_path) if p != "net.json"]
    assert len(litter) == 1, litter
    # another live writer's temporary file for the same target must survive
    alive = tmp_path / ".fastnn-net.json.pid{}.abcdefgh.tmp".format(os.getppid())
    alive.write_text("in progress")
    small_net().save(str(path))
    assert sorted(os.listdir(tmp_path)) == sorted(["net.json", alive.name])


# -- 8. the expanded-data cache is checked before it is used --------------------

@pytest.fixture(scope="module")
def expanded_cache(mnist_path, tmp_path_factory):
    """A good cache file built once, and the (labels, image digest) it gives."""
    from fastnn import expand
    home = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(home))
        x, y = expand.load_expanded(mnist_path, seed=0)
    folder = home / "fastnn" / "mnist"
    (name,) = [f for f in os.listdir(folder) if f.startswith("mnist_expanded")]
    return folder / name, y, hashlib.sha256(x.data).hexdigest()


@pytest.mark.parametrize("damage", ["truncated", "label 99", "pixel 255", "no checksum"])
def test_a_damaged_expanded_cache_is_rebuilt(expanded_cache, mnist_path, tmp_path, monkeypatch, damage):
    from fastnn import expand, network3
    good, want_y, want_x = expanded_cache
    folder = tmp_path / "fastnn" / "mnist"
    folder.mkdir(parents=True)
    bad = folder / good.name
    if damage == "truncated":
        bad.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    else:
        with np.load(good) as data:
            arrays = dict(data)
        if damage == "label 99":
            arrays["labels"][7] = 99
        elif damage == "pixel 255":
            arrays["images"][7, 0] = 255
        else:
            del arrays["sha256"]
        np.savez(bad, **arrays)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (x, y), _, _ = network3.load_data_shared(mnist_path, expanded=True)
    assert np.array_equal(y, want_y), "the damaged cache's labels were used"
    assert hashlib.sha256(x.data).hexdigest() == want_x, "the damaged cache's images were used"
    assert bad.read_bytes() == good.read_bytes(), "the damaged cache was not rewritten"


# -- 9. hostile data files are refused before they cost memory -------------------

LOAD_UNDER_1GB = """
import resource, sys
from fastnn import datasets
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
try:
    getattr(datasets, sys.argv[1])(sys.argv[2])
except ValueError as e:
    print("ValueError:", e)
except BaseException as e:
    print("RAW {}: {}".format(type(e).__name__, e))
else:
    print("LOADED")
"""


def load_in_1gb(function, path):
    """Run ``datasets.function(path)`` in a child limited to 1 GB of address space."""
    done = subprocess.run([sys.executable, "-c", LOAD_UNDER_1GB, function, str(path)],
                          env=fastnn_env(OPENBLAS_NUM_THREADS="1"), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_gzip_bomb_behind_a_labels_header_is_refused_without_decompressing_it(tmp_path):
    """A few MB of gzip: a valid header for 60,000 labels, then 1 GiB of zeros."""
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)      # 31: gzip framing
    zeros = bytes(1 << 24)
    with open(path, "wb") as f:
        f.write(packer.compress(b"\x00\x00\x08\x01" + (60000).to_bytes(4, "big")))
        for _ in range(64):
            f.write(packer.compress(zeros))
        f.write(packer.flush())
    out = load_in_1gb("read_idx", path)
    assert out.startswith("ValueError: {}".format(path)) and "trailing bytes" in out, out


def hostile_pickles():
    """Small pickles that ask the loader to allocate gigabytes."""
    multiarray = "numpy.core.multiarray"
    huge_array = (b"\x80\x02c" + multiarray.encode() + b"\n_reconstruct\ncnumpy\nndarray\n"
                  b"J\x00\x00\x00\x40\x85U\x01f\x87R.")          # 2**30 float32s
    big_string = b"\x80\x04\x8e" + (4 << 30).to_bytes(8, "little") + b"x" * 10
    state = (b"\x80\x02c" + multiarray.encode() + b"\n_reconstruct\ncnumpy\nndarray\n"
             b"K\x00\x85U\x01b\x87R"      # an empty array, then its __setstate__ with 2**30 objects
             b"(K\x01J\x00\x00\x00\x40\x85cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R\x89]tb.")
    return {"_reconstruct 4 GiB": huge_array, "a 4 GiB string": big_string,
            "__setstate__ 8 GiB": state}


@pytest.mark.parametrize("name", sorted(hostile_pickles()))
def test_a_small_pickle_declaring_gigabytes_is_refused(tmp_path, name):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(hostile_pickles()[name]))
    assert path.stat().st_size < 200
    out = load_in_1gb("load_mnist", path)
    assert out.startswith("ValueError: {}".format(path)), out


# -- 10. fastnn's own errors, naming the argument or the file -------------------

@pytest.mark.parametrize("seed", [-1, 1.5, "one", float("nan")])
def test_mlp_refuses_a_bad_seed_by_name(seed):
    with pytest.raises(ValueError, match="seed must be"):
        MLP([2, 2], seed=seed)


@pytest.mark.parametrize("sizes, index", [([10**20, 2], 0), ([2, 2**31], 1), ([784, 10**6, 10**6], 2)])
def test_sizes_too_large_for_blas_or_memory_are_refused_by_index(sizes, index):
    with pytest.raises(ValueError, match=r"sizes\[{}\] = {} is too large".format(index, sizes[index])):
        MLP(sizes)


def test_a_deeply_nested_json_file_is_a_bad_network_file(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ValueError, match="deep.json.*nested too deeply"):
        MLP.load(str(path))


@pytest.mark.parametrize("dtype", ["float16", "not a dtype", [1, 2], {"a": 1}])
def test_mlp_load_names_the_file_with_a_bad_saved_dtype(tmp_path, dtype):
    path = tmp_path / "net.json"
    MLP([3, 2], seed=0).save(str(path))
    data = json.loads(path.read_text())
    data["dtype"] = dtype
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="net.json.*dtype"):
        MLP.load(str(path))


def test_idx_dimensions_of_2_to_the_31_are_refused_naming_the_file(tmp_path):
    from fastnn import datasets
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x04" + (2**31).to_bytes(4, "big") * 4)
    with pytest.raises(ValueError, match="huge-idx3-ubyte.*declares shape"):
        datasets.read_idx(path)


def pickle_calling(module, name, args):
    """A protocol 2 pickle of ``module.name(*args)``, args a tuple of ints and strings."""
    out = b"\x80\x02c" + "{}\n{}\n".format(module, name).encode() + b"("
    for a in args:
        if isinstance(a, int):
            out += "L{}L\n".format(a).encode()
        else:
            out += b"X" + len(a.encode()).to_bytes(4, "little") + a.encode()
    return out + b"tR."


@pytest.mark.parametrize("content", [
    pickle_calling("_codecs", "encode", ("text", "no-such-codec")),            # LookupError
    b"\x80\x02K\x01p99999999999999999999\n.",                                 # OverflowError
], ids=["LookupError", "OverflowError"])
def test_raw_errors_of_the_pickle_loader_become_ours(tmp_path, content):
    """(MemoryError: see test_a_small_pickle_declaring_gigabytes_is_refused.)"""
    from fastnn import datasets
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(ValueError, match="mnist.pkl.gz: (cannot read the book's MNIST pickle|expected a 3-tuple)"):
        datasets.load_mnist(path)


def test_an_unreadable_data_directory_is_not_reported_as_missing_files(tmp_path, monkeypatch):
    from fastnn import datasets
    folder = tmp_path / "mnist"
    folder.mkdir()
    os.chmod(folder, 0)
    if os.geteuid() == 0:            # root reads anything: make the listing fail as it would
        real = os.listdir

        def listdir(path="."):
            if os.fspath(path) == str(folder):
                raise PermissionError(13, "Permission denied", str(folder))
            return real(path)
        monkeypatch.setattr(os, "listdir", listdir)
    try:
        with pytest.raises(PermissionError, match="cannot be read") as info:
            datasets.load_mnist(folder)
        assert "missing" not in str(info.value)
    finally:
        os.chmod(folder, 0o755)


@pytest.mark.parametrize("where", ["/dev/zero", "fifo"])
def test_fastnn_data_naming_a_device_is_not_reported_as_missing(tmp_path, monkeypatch, where):
    from fastnn import datasets
    if where == "fifo":
        where = str(tmp_path / "fifo")
        os.mkfifo(where)
    monkeypatch.setenv("FASTNN_DATA", where)
    with pytest.raises(ValueError, match="FASTNN_DATA {} is neither a file nor a directory".format(where)):
        datasets.load_mnist()


# -- found by the property-based battery (test_fuzz.py) --------------------------

@pytest.mark.parametrize("module", ["network", "network2"])
@pytest.mark.parametrize("call, match", [
    (lambda net: net.feedforward([0.5, [1.0, 2.0], 0.1]), "feedforward input is not a rectangular array"),
    (lambda net: net.feedforward(np.zeros((3, 0))), r"feedforward expects an input of shape \(3, 1\)"),
    (lambda net: net.backprop(np.zeros((3, 1)), [0.1, [0.0]]), "backprop targets: item 0 is not a rectangular"),
], ids=["ragged input", "empty input", "ragged target"])
def test_drop_ins_report_ragged_or_empty_input_as_ours(module, call, match):
    from fastnn import network, network2
    net = {"network": network, "network2": network2}[module].Network([3, 2, 2])
    with pytest.raises(ValueError, match=match):
        call(net)


def test_mlp_init_given_an_array_is_refused_by_name():
    with pytest.raises(ValueError, match="init must be"):
        MLP([2, 2], init=np.array([1.0, 2.0]))


def test_network3_activation_given_an_array_is_refused_by_name():
    from fastnn import network3
    with pytest.raises(TypeError, match="activation_fn must be"):
        network3.FullyConnectedLayer(2, 3, activation_fn=np.array([1.0, 2.0]))


@pytest.mark.parametrize("filename, error, match", [
    ("", ValueError, "filename is empty"), ("net\0.json", ValueError, "NUL"),
    (3, TypeError, "filename must be"), (".", IsADirectoryError, "filename '.' is a directory"),
])
def test_save_names_a_bad_filename(tmp_path, monkeypatch, filename, error, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        small_net().save(filename)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("method", ["accuracy", "total_cost"])
def test_network2_convert_must_be_a_flag(method):
    from fastnn import network2
    net = network2.Network([3, 2])
    data = [(np.zeros((3, 1)), 1)]
    args = (data, 0.0) if method == "total_cost" else (data,)
    with pytest.raises(TypeError, match="convert must be True or False"):
        getattr(net, method)(*args, convert=np.array([1.0, 2.0]))


@pytest.mark.parametrize("method", ["score", "cost_of", "fit"])
def test_mlp_reports_ragged_labels_as_ours(method):
    net = MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match="y is not a rectangular array"):
        getattr(net, method)(np.zeros((2, 2)), [0, [1, 0]])


def test_save_to_a_bytes_filename(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small_net().save(b"net.json")
    assert MLP.load("net.json").sizes == [3, 2]


def test_idx_dimensions_with_a_zero_and_huge_others_are_refused(tmp_path):
    from fastnn import datasets
    path = tmp_path / "zero-idx"
    path.write_bytes(b"\x00\x00\x0d\x04" + b"".join(d.to_bytes(4, "big") for d in (60000, 2**32 - 1, 0, 2**32 - 1)))
    with pytest.raises(ValueError, match="zero-idx.*declares shape"):
        datasets.read_idx(path)


def test_drop_ins_name_evaluation_data_given_as_an_array():
    from fastnn import network, network2
    training = [(np.zeros((3, 1)), np.zeros((2, 1)))]
    with pytest.raises(TypeError, match="test_data must be a list of"):
        network.Network([3, 2]).SGD(training, 1, 1, 1.0, test_data=np.zeros((3, 1)))
    with pytest.raises(TypeError, match="evaluation_data must be a list of"):
        network2.Network([3, 2]).SGD(training, 1, 1, 1.0, evaluation_data=np.zeros((3, 1)),
                                     monitor_evaluation_accuracy=True)


@pytest.mark.parametrize("test_data", [5, (39, np.zeros(2))])
def test_network3_size_names_data_that_is_not_a_pair(test_data):
    from fastnn import network3
    with pytest.raises(TypeError, match="data must be a pair"):
        network3.size(test_data)
