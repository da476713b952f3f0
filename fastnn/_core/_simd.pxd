# cython: language_level=3
"""The process's one choice of instruction set for every kernel (``_simd.h``).

A module whose kernels have vector variants cimports ``level_ref`` and calls
``fastnn_simd_share(level_ref())`` when it is imported: its kernels then
follow the level that ``fastnn._core._simd`` holds and switches.
"""

cdef extern from "_simd.h" nogil:
    int FASTNN_SIMD_BLAS, FASTNN_SIMD_GENERIC, FASTNN_SIMD_AVX2, FASTNN_SIMD_AVX512
    int fastnn_simd()
    int fastnn_simd_best()
    int fastnn_simd_isa()
    int fastnn_simd_set(int level)
    void fastnn_simd_share(int* shared)
    int* fastnn_simd_ref()


cdef int* level_ref() noexcept nogil
