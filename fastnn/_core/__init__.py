"""fastnn's compiled kernels.

Importing this package fails loudly when the extension modules were never
built: fastnn never falls back to the numpy path behind the user's back.
"""
import importlib.machinery
import os


def _unbuilt_source_tree():
    """True when this fastnn is a checkout's ``fastnn/`` folder with no compiled
    kernels in it: what ``python -c "import fastnn"`` finds from the repository
    root, ahead of an installed copy, because the current folder comes first
    on ``sys.path``."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    built = any(os.path.exists(os.path.join(here, "_dense" + suffix))
                for suffix in importlib.machinery.EXTENSION_SUFFIXES)
    return not built and os.path.isfile(os.path.join(root, "pyproject.toml")) \
        and os.path.isfile(os.path.join(root, "setup.py"))


try:
    from . import _dense  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only in an unbuilt tree
    if _unbuilt_source_tree():
        # Python's own text here ("partially initialized module ... circular
        # import") points the wrong way, so it is left out.
        raise ImportError(
            "this is fastnn's source tree, not built: run from another folder, or install "
            "with `pip install -e .` ({} was imported from {}, which has no compiled "
            "kernels)".format(__package__, os.path.dirname(os.path.abspath(__file__)))
        ) from None
    raise ImportError(
        "fastnn's compiled extension (fastnn._core._dense) is not built or does not "
        "import: {}.\nInstall fastnn with `pip install .` from the source tree, or, to "
        "work in place, build it with `python setup.py build_ext --inplace`.".format(exc)
    ) from exc


def kernel_variant():
    """The compiled kernels' build and the variant they run here.

    Returns
    -------
    simd : str
        The small-matrix and row kernels' instruction set in use: ``"avx512"``,
        ``"avx2"``, ``"generic"`` (portable C) or ``"blas"`` (every product to
        BLAS), chosen from the CPU or ``FASTNN_SIMD``.
    openmp : bool
        Whether the kernels were built with OpenMP; without it they run one
        thread whatever thread count is asked for.
    """
    from ._gemm import simd
    return simd(), bool(_dense.OPENMP)
