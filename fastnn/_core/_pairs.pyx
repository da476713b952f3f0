# cython: language_level=3
"""The book's lists of ``(x, y)`` pairs, read as rows of the arrays they
already live in.

``mnist_loader.load_data_wrapper`` (the book's and fastnn's) hands out each
``x`` as a view of one block of memory, one image per row; the drop-ins'
``SGD`` shuffles the list but never the block.  Stacking 50,000 columns into
a new array copies 157 MB and costs more than an epoch's training.  When
every ``x`` (and every vector ``y``) of a list is a whole row of one
C-contiguous block, and the list holds each row exactly once, the block can
be used as it is, with the row numbers saying where each list entry lives.
Anything else (separate arrays, repeated rows, another layout) returns None,
and the caller stacks as before.

Also here, the other per-call work on such data that a Python loop or two
numpy passes made costly: ``permute`` (the caller's list put in the order
training left it) and ``value_range`` (the finite and unscaled checks).
"""
import numpy as np
cimport numpy as cnp
from cpython.ref cimport PyObject
from libc.stdlib cimport free, malloc

from ._simd cimport fastnn_simd_share, level_ref

cnp.import_array()

# value_range's vector variant follows the process's one instruction-set level
fastnn_simd_share(level_ref())


cdef extern from "_pairs.h":
    ctypedef struct fastnn_side:
        cnp.PyArrayObject* block
        cnp.PyArray_Descr* descr
        const char* start
        cnp.npy_intp width
        cnp.npy_intp row_bytes
        cnp.npy_intp n_rows
    int fastnn_pair_rows(PyObject* items, Py_ssize_t n, const fastnn_side* xs,
                         const fastnn_side* ys, cnp.npy_intp* rows, unsigned char* seen)
    int fastnn_permute_list(PyObject* items, Py_ssize_t n, const cnp.npy_intp* order,
                            PyObject** tmp, unsigned char* seen)


cdef object _side(list items, int which, Py_ssize_t width, fastnn_side* side):
    """Fill ``side`` with the (N, width) block that ``items[0][which]`` is a
    row of, N being the number of items, and return it reshaped; or None."""
    if width <= 0:
        return None
    first = items[0]
    if type(first) is not tuple or len(<tuple>first) != 2 or type(first[which]) is not np.ndarray:
        return None
    cdef PyObject* owner = cnp.PyArray_BASE(<cnp.ndarray>first[which])
    if owner == NULL or type(<object>owner) is not np.ndarray:
        return None
    cdef cnp.ndarray block = <cnp.ndarray>owner
    if not (block.flags.c_contiguous and block.dtype.kind == "f"
            and block.size % width == 0 and block.size // width == len(items)):
        return None
    side.block = <cnp.PyArrayObject*>block
    side.descr = cnp.PyArray_DESCR(block)
    side.start = <const char*>cnp.PyArray_DATA(block)
    side.width = width
    side.row_bytes = width * block.dtype.itemsize
    side.n_rows = block.size // width
    return block.reshape(side.n_rows, width)


cdef object _rows(list items, Py_ssize_t n_in, Py_ssize_t n_out):
    """``(X, Y, rows)`` (``Y`` None when ``n_out`` is 0) or None: see pair_rows."""
    cdef fastnn_side xs, ys
    cdef int ok
    if len(items) == 0:
        return None
    X = _side(items, 0, n_in, &xs)
    if X is None:
        return None
    Y = None
    if n_out:
        Y = _side(items, 1, n_out, &ys)
        if Y is None:
            return None
    cdef Py_ssize_t n = len(items)
    rows = np.empty(n, dtype=np.intp)
    seen = np.zeros(n, dtype=np.uint8)
    ok = fastnn_pair_rows(<PyObject*>items, n, &xs, &ys if n_out else NULL,
                          <cnp.npy_intp*>cnp.PyArray_DATA(rows),
                          <unsigned char*>cnp.PyArray_DATA(seen))
    return (X, Y, rows) if ok else None


def pair_rows(list items, Py_ssize_t n_in, Py_ssize_t n_out):
    """``(X, Y, rows)`` when every ``x`` of the pairs ``items`` is a row of
    one block ``X`` (N, n_in) and every ``y`` the same row of one block ``Y``
    (N, n_out), N the number of pairs, with ``rows[i]`` the row of
    ``items[i]``; else None."""
    if n_out <= 0:
        return None
    return _rows(items, n_in, n_out)


def input_rows(list items, Py_ssize_t n_in):
    """``(X, rows)`` when every ``x`` is a row of one block ``X``; else None."""
    found = _rows(items, n_in, 0)
    return None if found is None else (found[0], found[2])


def permute(list items, order):
    """Reorder ``items`` in place so that position ``i`` holds what position
    ``order[i]`` held, moving references only (``items[:] = [items[i] for i
    in order]`` touches every object twice, which on a list of scattered
    objects costs a cache miss each).  ``order`` must be a permutation of
    ``range(len(items))``: anything else raises ValueError, the list unchanged."""
    order = np.asarray(order)
    if order.dtype.kind not in "iu":
        raise ValueError("order must hold integers, not {}".format(order.dtype))
    cdef cnp.ndarray o = np.ascontiguousarray(order, dtype=np.intp)
    cdef Py_ssize_t n = len(items)
    if o.ndim != 1 or o.shape[0] != n:
        raise ValueError("order has shape {}; the list has {} items".format(
            (<object>o).shape, n))
    if n == 0:
        return
    seen = np.zeros(n, dtype=np.uint8)
    cdef PyObject** tmp = <PyObject**>malloc(n * sizeof(PyObject*))
    if tmp == NULL:
        raise MemoryError()
    try:
        if not fastnn_permute_list(<PyObject*>items, n, <cnp.npy_intp*>cnp.PyArray_DATA(o), tmp,
                                   <unsigned char*>cnp.PyArray_DATA(seen)):
            raise ValueError("order is not a permutation of the list's positions (or the "
                             "list changed length)")
    finally:
        free(tmp)


# ---------------------------------------------------------------------------
# One pass over the inputs for the checks every conversion makes
# ---------------------------------------------------------------------------

cdef extern from "_range.h":
    void fastnn_range_f(const float* a, Py_ssize_t n, double* lo, double* hi, int* nan) noexcept nogil
    void fastnn_range_d(const double* a, Py_ssize_t n, double* lo, double* hi, int* nan) noexcept nogil


def value_range(cnp.ndarray a):
    """``(least, greatest)`` of a non-empty C-contiguous float32 or float64
    array, as Python floats, in one pass (numpy's ``min`` and ``max`` take
    two); both are NaN when any entry is NaN.  None for any other array."""
    cdef double lo = 0, hi = 0
    cdef int nan = 0
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a)
    if n == 0 or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        return None
    cdef void* p = cnp.PyArray_DATA(a)
    if a.dtype == np.float32:
        with nogil:
            fastnn_range_f(<const float*>p, n, &lo, &hi, &nan)
    elif a.dtype == np.float64:
        with nogil:
            fastnn_range_d(<const double*>p, n, &lo, &hi, &nan)
    else:
        return None
    if nan:
        return float("nan"), float("nan")
    return lo, hi
