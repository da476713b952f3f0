"""Reproducers for the reliability issue's findings 6-10: each test failed
before its fix.  (The property-based battery is in test_fuzz.py.)"""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from fastnn import MLP


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
