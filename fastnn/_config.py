"""Process-wide settings: which kernels run, how the drop-ins shuffle, and
how many threads the compiled kernels use.

Each can be set from the environment, for programs that cannot be edited:

* ``FASTNN_BACKEND=numpy|cython`` (default ``cython``)
* ``FASTNN_SHUFFLE=python3|python2`` (default ``python3``)
* ``FASTNN_NUM_THREADS=n`` (default: none set; see ``get_num_threads``)
"""
import numbers
import os

from . import _threads

BACKENDS = ("cython", "numpy")
SHUFFLES = ("python3", "python2")


def _from_env(name, allowed, default):
    value = os.environ.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ValueError("environment variable {}={!r}: expected one of {}".format(
            name, value, ", ".join(allowed)))
    return value


_settings = {
    "backend": _from_env("FASTNN_BACKEND", BACKENDS, "cython"),
    "shuffle": _from_env("FASTNN_SHUFFLE", SHUFFLES, "python3"),
}


def check_backend(name):
    """Return ``name`` normalised, or raise ValueError naming the choices."""
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError("backend must be one of {}, not {!r}".format(", ".join(map(repr, BACKENDS)), name))
    return name.lower()


def set_backend(name):
    """Choose the kernels used by every object created without ``backend=``.

    ``"cython"`` (the default) runs the compiled kernels in ``fastnn._core``;
    ``"numpy"`` runs the readable reference path in ``fastnn.reference``.
    Objects resolve the setting each time they train or predict.
    """
    _settings["backend"] = check_backend(name)


def get_backend():
    """The name of the process-wide default backend."""
    return _settings["backend"]


def set_shuffle(name):
    """Choose how the drop-in modules shuffle the training data each epoch.

    ``"python3"`` (default) calls ``random.shuffle`` as today's Python does.
    ``"python2"`` draws ``j = int(random() * (i+1))`` for ``i`` from ``len-1``
    down to 1, as Python 2.7's ``random.shuffle`` did, so a program seeded as
    the book's scripts are retraces the book's published runs.
    """
    if not isinstance(name, str) or name.lower() not in SHUFFLES:
        raise ValueError("shuffle must be one of {}, not {!r}".format(", ".join(map(repr, SHUFFLES)), name))
    _settings["shuffle"] = name.lower()


def get_shuffle():
    """The name of the shuffle the drop-in modules use."""
    return _settings["shuffle"]


# -- threads ---------------------------------------------------------------------

# set_num_threads's value, and the process that set it (a child made by
# os.fork() does not inherit it: see fastnn._threads)
_threads_set = {"n": None, "pid": None}


def check_num_threads(n, name="num_threads"):
    """``n`` as an int, or a ValueError naming ``name``: a whole number >= 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError("{} must be a whole number >= 1, not {!r}".format(name, n))
    return int(n)


def _env_threads():
    """``FASTNN_NUM_THREADS`` as an int, None when unset or empty, or a
    ValueError naming the variable."""
    text = os.environ.get("FASTNN_NUM_THREADS", "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ValueError("environment variable FASTNN_NUM_THREADS={!r}: expected a whole "
                         "number >= 1".format(text))
    return value


def set_num_threads(n=None):
    """Threads for the compiled kernels of every front end: a whole number
    >= 1, or None to go back to the default (``FASTNN_NUM_THREADS``, else
    each front end's own: one for ``MLP`` and the drop-ins, every core for
    network3).  ``MLP(num_threads=...)`` overrides it for one network.

    The setting belongs to the process that makes it: a child made by
    ``os.fork()`` starts from one thread (see :mod:`fastnn._threads`)."""
    if n is not None:
        n = check_num_threads(n)
        if n > 1 and not _threads.threads_usable():
            _threads.warn_pool_lost(n)
    _threads_set["n"] = n
    _threads_set["pid"] = os.getpid()


def get_num_threads(default=1):
    """The thread count asked for the kernels: ``set_num_threads``'s value,
    else ``FASTNN_NUM_THREADS``, else ``default``.  In a forked child it is 1
    until ``set_num_threads`` is called there, and stays 1 if the parent had
    already run the kernels with threads (OpenMP cannot start them again).

    The compiled kernels use threads only where they pay (for fully connected
    networks, ``fastnn._core._dense.threads_for``)."""
    if not _threads.threads_usable():
        return 1
    if _threads_set["n"] is not None and _threads_set["pid"] == os.getpid():
        return _threads_set["n"]
    if _threads.in_forked_child():
        return 1
    env = _env_threads()
    if env is not None:
        return env
    return default() if callable(default) else default


def thread_setting():
    """What ``set_num_threads`` holds in this process (None: nothing set)."""
    return _threads_set["n"] if _threads_set["pid"] == os.getpid() else None


def all_cores():
    """network3's default thread count: ``OMP_NUM_THREADS`` (its first
    value), else every core this process may run on."""
    env = os.environ.get("OMP_NUM_THREADS")
    if env:
        try:
            return max(1, int(env.split(",")[0]))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))   # the cores this process may use
    except (AttributeError, OSError):
        return os.cpu_count() or 1
