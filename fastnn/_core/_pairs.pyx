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
"""
import numpy as np
cimport numpy as cnp
from cpython.ref cimport PyObject

cnp.import_array()


cdef object _block_rows(list items, int which, Py_ssize_t width, cnp.ndarray rows):
    """The (N, width) block holding every ``items[i][which]`` as one of its
    rows, each row once, filling ``rows``; or None."""
    cdef Py_ssize_t i, n = len(items), n_rows, r
    cdef Py_ssize_t row_bytes, offset
    cdef char* start
    cdef char* p
    cdef cnp.npy_intp* out = <cnp.npy_intp*>cnp.PyArray_DATA(rows)
    cdef cnp.ndarray arr
    cdef unsigned char[::1] seen
    if n == 0:
        return None
    item = items[0]
    if type(item) is not tuple or len(<tuple>item) != 2 or type(item[which]) is not np.ndarray:
        return None
    cdef PyObject* owner = cnp.PyArray_BASE(<cnp.ndarray>item[which])
    if owner == NULL or type(<object>owner) is not np.ndarray:
        return None
    cdef cnp.ndarray block = <cnp.ndarray>owner
    if not (block.flags.c_contiguous and block.dtype.kind == "f" and width > 0
            and block.size % width == 0 and block.size // width == n):
        return None
    dtype = block.dtype
    n_rows = block.size // width
    row_bytes = width * block.dtype.itemsize
    start = <char*>cnp.PyArray_DATA(block)
    seen = np.zeros(n_rows, dtype=np.uint8)
    for i in range(n):
        item = items[i]
        if type(item) is not tuple or len(<tuple>item) != 2:
            return None
        x = (<tuple>item)[which]
        if type(x) is not np.ndarray:
            return None
        arr = <cnp.ndarray>x
        if cnp.PyArray_BASE(arr) != owner or cnp.PyArray_SIZE(arr) != width \
                or not cnp.PyArray_IS_C_CONTIGUOUS(arr) \
                or (arr.dtype is not dtype and arr.dtype != dtype):
            return None
        p = <char*>cnp.PyArray_DATA(arr)
        offset = p - start
        if offset < 0 or offset % row_bytes != 0:
            return None
        r = offset // row_bytes
        if r >= n_rows or seen[r]:
            return None
        seen[r] = 1
        out[i] = r
    return block.reshape(n_rows, width)


def pair_rows(list items, Py_ssize_t n_in, Py_ssize_t n_out):
    """``(X, Y, rows)`` when every ``x`` of the pairs ``items`` is a row of
    one block ``X`` (N, n_in) and every ``y`` the same row of one block ``Y``
    (N, n_out), with ``rows[i]`` the row of ``items[i]``; else None."""
    rows = np.empty(len(items), dtype=np.intp)
    X = _block_rows(items, 0, n_in, rows)
    if X is None:
        return None
    rows_y = np.empty(len(items), dtype=np.intp)
    Y = _block_rows(items, 1, n_out, rows_y)
    if Y is None or not np.array_equal(rows, rows_y):
        return None
    return X, Y, rows


def input_rows(list items, Py_ssize_t n_in):
    """``(X, rows)`` when every ``x`` is a row of one block ``X``; else None."""
    rows = np.empty(len(items), dtype=np.intp)
    X = _block_rows(items, 0, n_in, rows)
    return None if X is None else (X, rows)
