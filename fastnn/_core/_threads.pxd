# cython: language_level=3
"""The thread contract of the compiled kernels, shared by ``_dense`` and
``_conv``: OpenMP when the build has it (``_threads.h``), a team of threads
that meet at a barrier, and the size limit of the C ints and BLAS's 32-bit
dimensions the kernels index with."""

cdef extern from "_threads.h":
    int FASTNN_HAVE_OPENMP
    ctypedef struct fastnn_bar_t:
        int count
        int sense
    void fastnn_bar_wait(fastnn_bar_t* b, int n, int* local_sense) noexcept nogil
    int fastnn_thread_num() noexcept nogil
    int fastnn_num_threads() noexcept nogil


cdef enum:
    # the most elements a buffer, and the largest size a dimension, may have:
    # the kernels index with C ints and BLAS takes 32-bit dimensions (2**31-1)
    INT_LIMIT = 2147483647


cdef struct Team:
    # one thread's view of the threads running a parallel region
    int tid         # this thread's number
    int nthreads    # threads actually running the region
    int sense       # this thread's side of the barrier
    fastnn_bar_t* bar


cdef inline void team_join(Team* T, fastnn_bar_t* bar) noexcept nogil:
    """Set ``T`` up for the calling thread of the region, meeting at ``bar``."""
    T.tid = fastnn_thread_num()
    T.nthreads = fastnn_num_threads()
    T.sense = 0
    T.bar = bar


cdef inline void sync(Team* T) noexcept nogil:
    """Wait until every thread of the team has arrived (nothing with one)."""
    if T.nthreads > 1:
        fastnn_bar_wait(T.bar, T.nthreads, &T.sense)
