"""fastnn's compiled kernels.

Importing this package fails loudly when the extension modules were never
built: fastnn never falls back to the numpy path behind the user's back.
"""

try:
    from . import _dense  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only in an unbuilt tree
    raise ImportError(
        "fastnn's compiled extension (fastnn._core._dense) is not built or does not "
        "import: {}.\nInstall fastnn with `pip install .` from the source tree, or, to "
        "work in place, build it with `python setup.py build_ext --inplace`.".format(exc)
    ) from exc
