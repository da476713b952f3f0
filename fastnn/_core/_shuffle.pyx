# cython: language_level=3
"""The drop-ins' per-epoch shuffle, computed in C, drawing exactly what
Python's ``random.shuffle`` would draw.

The book shuffles its list of examples with ``random.shuffle`` every epoch.
Done in Python on 50,000 items that costs a noticeable part of an epoch.  Here
the generator's state is taken from ``random.getstate()``, the same Mersenne
Twister (MT19937, as CPython's ``_randommodule.c`` runs it) advances in C,
and the new state is handed back with ``random.setstate()``: the permutation
and the generator afterwards are bit for bit those of the Python shuffle.

Two ways of drawing the swap position ``j`` for ``i = n-1 .. 1``:

* Python 3: ``j = _randbelow(i+1)``: ``k = (i+1).bit_length()`` bits from
  ``getrandbits(k)`` (one 32-bit word shifted right by ``32 - k``), drawn
  again while ``j > i``;
* Python 2.7: ``j = int(random() * (i+1))``, ``random()`` built from two
  words as ``(a*2**26 + b) / 2**53`` with ``a = w1 >> 5``, ``b = w2 >> 6``.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint32_t, int64_t

cnp.import_array()

cdef enum:
    N = 624
    M = 397

cdef uint32_t MATRIX_A = 0x9908b0df
cdef uint32_t UPPER_MASK = 0x80000000
cdef uint32_t LOWER_MASK = 0x7fffffff
cdef uint32_t TEMPER_B = 0x9d2c5680
cdef uint32_t TEMPER_C = 0xefc60000


cdef struct Twister:
    uint32_t mt[N]
    int index


cdef inline uint32_t next_word(Twister* t) noexcept nogil:
    """The generator's next 32-bit output (``genrand_uint32``)."""
    cdef uint32_t y
    cdef int kk
    cdef uint32_t* mt = t.mt
    if t.index >= N:
        for kk in range(N - M):
            y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK)
            mt[kk] = mt[kk + M] ^ (y >> 1) ^ (MATRIX_A if y & 1 else 0)
        for kk in range(N - M, N - 1):
            y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK)
            mt[kk] = mt[kk + (M - N)] ^ (y >> 1) ^ (MATRIX_A if y & 1 else 0)
        y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK)
        mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ (MATRIX_A if y & 1 else 0)
        t.index = 0
    y = mt[t.index]
    t.index += 1
    y ^= y >> 11
    y ^= (y << 7) & TEMPER_B
    y ^= (y << 15) & TEMPER_C
    y ^= y >> 18
    return y


cdef inline int bit_length(uint32_t n) noexcept nogil:
    cdef int k = 0
    while n:
        k += 1
        n >>= 1
    return k


cdef void shuffle_python3(Twister* t, int64_t* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t bound, j
    cdef int k
    cdef int64_t tmp
    for i in range(n - 1, 0, -1):
        bound = <uint32_t>(i + 1)
        k = bit_length(bound)
        j = next_word(t) >> (32 - k)
        while j >= bound:
            j = next_word(t) >> (32 - k)
        tmp = x[i]
        x[i] = x[j]
        x[j] = tmp


cdef void shuffle_python2(Twister* t, int64_t* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef uint32_t a, b
    cdef double r
    cdef int64_t tmp
    for i in range(n - 1, 0, -1):
        a = next_word(t) >> 5
        b = next_word(t) >> 6
        r = (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
        j = <Py_ssize_t>(r * <double>(i + 1))
        tmp = x[i]
        x[i] = x[j]
        x[j] = tmp


def shuffle(cnp.ndarray x, state, bint python2=False):
    """Shuffle the int64 array ``x`` in place as ``random.shuffle`` would
    shuffle a list, starting from ``state`` (what ``random.getstate()``
    returned); returns the state to hand to ``random.setstate()``."""
    cdef Twister t
    cdef int i
    cdef Py_ssize_t n
    if not (x.dtype == np.int64 and x.ndim == 1 and x.flags.c_contiguous and x.flags.writeable):
        raise TypeError("x must be a writable, C-contiguous 1-D int64 array")
    try:
        version, internal, gauss = state
        if version != 3 or len(internal) != N + 1:
            raise ValueError
        words = [int(w) for w in internal[:N]]
        index = int(internal[N])
        if not 0 <= index <= N or any(not 0 <= w < 2**32 for w in words):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError("state is not a state of Python's random generator "
                         "(random.getstate())") from None
    n = x.shape[0]
    if n > 2**31:
        raise ValueError("the compiled shuffle takes at most 2**31 items, got {}".format(n))
    for i in range(N):
        t.mt[i] = words[i]
    t.index = index
    cdef int64_t* p = <int64_t*>cnp.PyArray_DATA(x)
    with nogil:
        if python2:
            shuffle_python2(&t, p, n)
        else:
            shuffle_python3(&t, p, n)
    return (version, tuple([t.mt[i] for i in range(N)]) + (t.index,), gauss)
