"""Shared pieces of the benchmarks: MNIST arrays and the thread settings."""
import contextlib
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))   # oracle (per-example arithmetic), helpers.find_mnist


#: FASTNN_BENCH_QUICK=1: tiny sizes and one round each, so CI can check that every
#: benchmark still runs (its numbers then mean nothing)
QUICK = os.environ.get("FASTNN_BENCH_QUICK", "0") == "1"


def run_python(code, *args, env=None):
    """Run ``python -c code args`` in a fresh process (environment ``env``,
    default this one's) and return the finished process.  The child starts in
    an empty folder with ``PYTHONSAFEPATH`` set, so that nothing in the current
    folder (the repository's unbuilt ``fastnn/``, or whatever lies in the
    temporary folder) can shadow the installed modules.  A child that fails
    raises with the end of its stderr."""
    import subprocess
    import tempfile
    env = dict(os.environ if env is None else env, PYTHONSAFEPATH="1")
    with tempfile.TemporaryDirectory() as empty:
        r = subprocess.run([sys.executable, "-c", code] + [str(a) for a in args], capture_output=True,
                           text=True, cwd=empty, env=env)
    if r.returncode != 0:
        raise RuntimeError("a child Python exited with status {}; the end of its stderr:\n{}".format(
            r.returncode, r.stderr[-4000:]))
    return r


def blas_threads():
    """Threads each BLAS library in this process will use (threadpoolctl when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "default")}
    return {"{}:{}".format(i["internal_api"], os.path.basename(i["filepath"])): i["num_threads"]
            for i in threadpool_info()}


def import_jax():
    """JAX, set up as the benchmarks compare with it (skip when not installed):
    float64 allowed (arrays keep the dtype they are given).  Run its work
    inside ``one_core()``, so that it has one core like the rows beside it."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    with one_core():
        jax.devices()       # XLA's threads start now, and inherit the one core
    return jax


@contextlib.contextmanager
def one_core():
    """Keep the calling thread, and every thread it starts, on one core.

    XLA's CPU backend runs its work on a pool of threads whatever its
    ``XLA_FLAGS`` say (measured: twice as much CPU time as wall time on two
    idle cores), so a one-thread comparison pins it: threads inherit their
    creator's CPU mask.  Linux only; elsewhere a no-op."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


@pytest.fixture(scope="session")
def mnist_arrays():
    from fastnn.datasets import load_mnist
    from helpers import find_mnist
    (X, y), _, _ = load_mnist(find_mnist())     # None: download into the per-user cache
    return X, y
