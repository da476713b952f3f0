# cython: language_level=3
"""OpenMP helpers shared by the kernels (see _threads.h)."""

cdef extern from "_threads.h":
    int FASTNN_HAVE_OPENMP
    ctypedef struct fastnn_bar_t:
        int count
        int sense
    void fastnn_bar_wait(fastnn_bar_t* b, int n, int* local_sense) noexcept nogil
    int fastnn_thread_num() noexcept nogil
    int fastnn_num_threads() noexcept nogil
    int fastnn_max_threads() noexcept nogil
