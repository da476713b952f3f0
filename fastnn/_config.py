"""Process-wide settings: which kernels run, and how the drop-ins shuffle.

Both can be set from the environment, for programs that cannot be edited:

* ``FASTNN_BACKEND=numpy|cython`` (default ``cython``)
* ``FASTNN_SHUFFLE=python3|python2`` (default ``python3``)
"""
import os

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
