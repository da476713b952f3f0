"""Optional dependencies, imported only by the features that need them.

``import fastnn`` needs numpy, SciPy and threadpoolctl alone.  The
scikit-learn estimator (``fastnn.sklearn``) and the Dask searches
(``fastnn.distributed``) import their libraries through ``require``, so a
user without them meets an error naming the extra to install instead of a
bare ``ModuleNotFoundError`` from deep inside.
"""
import importlib

#: The distribution that provides each top-level module we import.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "dask": "dask", "distributed": "distributed"}


def require(module, extra, feature):
    """Import and return ``module``, or raise ImportError saying that
    ``feature`` needs it and which of fastnn's extras installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError("{} needs {}, which is not installed here ({}); install it with: "
                          "pip install 'fastnn[{}]'".format(
                              feature, _DISTRIBUTIONS.get(top, top), exc, extra)) from exc
