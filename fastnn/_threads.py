"""Kernel threads after ``os.fork()``: the one place that knows about it.

GNU OpenMP keeps its worker threads in a pool that it reuses from one
parallel region to the next.  ``fork`` copies only the thread that called it,
so a child of a process whose kernels already ran with threads inherits a
pool of workers that do not exist, and its next parallel region with more
than one thread waits for them forever.  libgomp cannot be given a fresh pool,
so such a child keeps to one thread, and the kernels run one thread without
entering a parallel region.

The Python callers of the compiled kernels ask ``effective_threads(n)`` for
the count to pass down, instead of passing what the user asked for.
"""
import os
import warnings

_state = {
    "forked": False,        # this process is a child made by os.fork()
    "pool_started": False,  # a kernel ran (or was set up to run) with more than one thread
    "pool_lost": False,     # forked after that: OpenMP's pool is unusable here
}


def _after_fork_in_child():
    _state["forked"] = True
    if _state["pool_started"]:
        _state["pool_lost"] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def in_forked_child():
    """True in a process made by ``os.fork()`` (a ``multiprocessing`` worker
    under the 'fork' start method, for instance) after fastnn was imported."""
    return _state["forked"]


def threads_usable():
    """False when this process was forked after the kernels ran with threads:
    only one thread is safe here."""
    return not _state["pool_lost"]


def effective_threads(n):
    """The thread count to hand a kernel when ``n`` are wanted: ``n``, or 1
    when OpenMP's pool was lost in a fork (with a RuntimeWarning)."""
    if n <= 1:
        return 1
    if _state["pool_lost"]:
        warn_pool_lost(n)
        return 1
    _state["pool_started"] = True
    return n


def warn_pool_lost(n):
    warnings.warn("{} threads were asked for, but this process was forked after fastnn's "
                  "kernels had run with threads, and OpenMP cannot start threads again in it: "
                  "the kernels use one thread (use the 'spawn' or 'forkserver' start method "
                  "for parallel workers)".format(n), RuntimeWarning, stacklevel=3)
