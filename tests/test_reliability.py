"""Reproducers for the reliability issue's findings 6-10: each test failed
before its fix.  (The property-based battery is in test_fuzz.py.)"""
import gzip
import hashlib
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
