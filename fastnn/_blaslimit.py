"""One BLAS thread while any training runs, however many trainings overlap.

threadpoolctl's ``threadpool_limits`` remembers the setting it found and puts
it back when it ends.  That setting belongs to the whole process, so two
trainings in two threads undo each other: the second one to start remembers
the first one's limit of 1, and, ending last, leaves BLAS at one thread for
the rest of the process.

Here the limit is counted instead: the first training to enter sets BLAS to
one thread (remembering the setting it found), later ones only add to the
count, and the last one to leave restores what the first found.  A lock
keeps the count and the setting consistent.

threadpoolctl (3.6 and later) lets only one Python thread, the first to set
a limit on a process-wide OpenBLAS, change it while that thread lives;
calls from other threads are silently ignored.  Since the first and the last
training may run in different threads, the guard hands that control back
after each change (``clear_controlling_thread``), so whichever thread ends
the last training can restore the setting.  A program that changes the
BLAS threads itself while a training runs is not protected against: that
setting is lost when the last training ends.
"""
import contextlib
import threading

import threadpoolctl

_lock = threading.Lock()
_users = 0          # trainings inside one_blas_thread() right now
_limiter = None     # the limiter of the first of them
_controller = None  # threadpoolctl's view of the loaded libraries, made once


def _blas_limit():
    """BLAS set to one thread, remembering the setting found.  Finding the
    loaded libraries takes threadpoolctl about a millisecond (more the first
    time), a tenth of a short drop-in ``SGD`` call's overhead, so it is done
    once: the BLAS libraries that matter (numpy's and SciPy's, which the
    kernels call) are loaded before any training starts."""
    global _controller
    if _controller is None:
        from ._core import _dense  # noqa: F401  (loads SciPy's BLAS first)
        _controller = threadpoolctl.ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


@contextlib.contextmanager
def one_blas_thread():
    """Context manager: BLAS runs on one thread until the last overlapping
    user leaves, then gets back the setting it had before the first came."""
    global _users, _limiter
    with _lock:
        if _users == 0:
            _release_control()
            _limiter = _blas_limit()
            _release_control()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _release_control()
                _limiter.restore_original_limits()
                _release_control()
                _limiter = None


def _release_control():
    """Let any thread set OpenBLAS's threads next (a no-op before threadpoolctl 3.6)."""
    controller = getattr(threadpoolctl, "OpenBLASController", None)
    if hasattr(controller, "clear_controlling_thread"):
        controller.clear_controlling_thread(force=True)
