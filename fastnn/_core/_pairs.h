/* The walk over a list of (x, y) pairs that finds the row of a block each
   x (and y) is, for _pairs.pyx.

   A list that an earlier SGD call shuffled holds its tuples and arrays in
   no order in memory: each pair costs several dependent cache misses (the
   tuple, its two arrays, their shapes), some 30 ms for 50,000 pairs.  The
   walk prefetches each pair's objects a few pairs ahead, one level of the
   chain per stage, so that the misses overlap.  Prefetching never faults,
   and nothing is read from an object before its type is checked.

   Include after numpy's headers (Cython's `cimport numpy` puts them first). */
#ifndef FASTNN_PAIRS_H
#define FASTNN_PAIRS_H

#include <Python.h>

#if defined(__GNUC__) || defined(__clang__)
#define FASTNN_PREFETCH(p) __builtin_prefetch((const void*)(p))
#else
#define FASTNN_PREFETCH(p) ((void)0)
#endif

#define FASTNN_AHEAD 8      /* pairs between two stages of the prefetch */

/* One side of the pairs: the block every x (or y) must be a row of. */
typedef struct {
    PyArrayObject* block;
    PyArray_Descr* descr;
    const char* start;
    npy_intp width;         /* elements per row */
    npy_intp row_bytes;
    npy_intp n_rows;
} fastnn_side;

static inline int fastnn_is_pair(PyObject* t)
{
    return PyTuple_CheckExact(t) && PyTuple_GET_SIZE(t) == 2;
}

static inline int fastnn_is_array(PyObject* a)
{
    return Py_TYPE(a) == &PyArray_Type;
}

/* The row of `side`'s block that the object `a` is, or -1. */
static inline npy_intp fastnn_row_of(PyObject* a, const fastnn_side* side)
{
    PyArrayObject* arr = (PyArrayObject*)a;
    npy_intp offset, size = 1;
    int d;
    if (!fastnn_is_array(a) || PyArray_BASE(arr) != (PyObject*)side->block
            || !PyArray_IS_C_CONTIGUOUS(arr))
        return -1;
    if (PyArray_DESCR(arr) != side->descr && !PyArray_EquivTypes(PyArray_DESCR(arr), side->descr))
        return -1;
    for (d = 0; d < PyArray_NDIM(arr); d++)
        size *= PyArray_DIMS(arr)[d];
    if (size != side->width)
        return -1;
    offset = (const char*)PyArray_DATA(arr) - side->start;
    if (offset < 0 || offset % side->row_bytes != 0 || offset / side->row_bytes >= side->n_rows)
        return -1;
    return offset / side->row_bytes;
}

/* rows[i] = the row of items[i][0] in xs (and of items[i][1] in ys, the
   same row, unless ys is NULL), each row at most once (seen: n_rows zeroed
   bytes).  n is the length `rows` was made for: a list that has changed
   length since (a __del__ run by the allocations in between) fits nothing.
   Returns 0 as soon as a pair does not fit, else 1. */
static int fastnn_pair_rows(PyObject* items, Py_ssize_t n, const fastnn_side* xs,
                            const fastnn_side* ys, npy_intp* rows, unsigned char* seen)
{
    Py_ssize_t i, j;
    PyObject** item = ((PyListObject*)items)->ob_item;
    if (PyList_GET_SIZE(items) != n || xs->n_rows != n || (ys != NULL && ys->n_rows != n))
        return 0;
    for (i = 0; i < n; i++) {
        PyObject* t;
        npy_intp r;
        /* stage 1: the tuple of pair i + 3A; 2: its arrays; 3: their shapes */
        j = i + 3 * FASTNN_AHEAD;
        if (j < n)
            FASTNN_PREFETCH(item[j]);
        j = i + 2 * FASTNN_AHEAD;
        if (j < n && fastnn_is_pair(item[j])) {
            FASTNN_PREFETCH(PyTuple_GET_ITEM(item[j], 0));
            if (ys != NULL)
                FASTNN_PREFETCH(PyTuple_GET_ITEM(item[j], 1));
        }
        j = i + FASTNN_AHEAD;
        if (j < n && fastnn_is_pair(item[j])) {
            PyObject* a = PyTuple_GET_ITEM(item[j], 0);
            if (fastnn_is_array(a))
                FASTNN_PREFETCH(PyArray_DIMS((PyArrayObject*)a));
            a = PyTuple_GET_ITEM(item[j], 1);
            if (ys != NULL && fastnn_is_array(a))
                FASTNN_PREFETCH(PyArray_DIMS((PyArrayObject*)a));
        }
        t = item[i];
        if (!fastnn_is_pair(t))
            return 0;
        r = fastnn_row_of(PyTuple_GET_ITEM(t, 0), xs);
        if (r < 0 || seen[r])
            return 0;
        if (ys != NULL && fastnn_row_of(PyTuple_GET_ITEM(t, 1), ys) != r)
            return 0;
        seen[r] = 1;
        rows[i] = r;
    }
    return 1;
}

/* Put the list in the order `order` (a permutation of its positions:
   position i gets what position order[i] held), moving only the references
   it holds: no object is touched, so no reference count changes.  `tmp`
   has room for n references, n the length `order` was checked against.
   Returns 0, changing nothing, when the list no longer has n items or
   `order` is not a permutation of 0..n-1 (seen: n zeroed bytes). */
static int fastnn_permute_list(PyObject* items, Py_ssize_t n, const npy_intp* order,
                               PyObject** tmp, unsigned char* seen)
{
    Py_ssize_t i;
    PyObject** item = ((PyListObject*)items)->ob_item;
    if (PyList_GET_SIZE(items) != n)
        return 0;
    for (i = 0; i < n; i++) {
        if (order[i] < 0 || order[i] >= n || seen[order[i]])
            return 0;
        seen[order[i]] = 1;
    }
    for (i = 0; i < n; i++)
        tmp[i] = item[order[i]];
    for (i = 0; i < n; i++)
        item[i] = tmp[i];
    return 1;
}

#endif
