/* Threads for fastnn's kernels: OpenMP when the build has it, one thread when not.

   fastnn_bar_wait is a sense-reversing barrier that spins briefly, then
   yields the core.  OpenMP's own barrier spins for a long time before
   sleeping: on a machine whose cores are also busy with other work, a
   spinning thread then holds the core that the thread it waits for needs
   (two threads ran ten times slower than one that way). */
#ifndef FASTNN_THREADS_H
#define FASTNN_THREADS_H

typedef struct { int count; int sense; } fastnn_bar_t;

#ifdef _OPENMP
#include <omp.h>
#include <sched.h>
#define FASTNN_HAVE_OPENMP 1
static void fastnn_bar_wait(fastnn_bar_t* b, int n, int* local_sense) {
    int s = !*local_sense, spins = 0;
    *local_sense = s;
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
    } else {
        while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
            if (++spins > 1000) sched_yield();   /* ~100 us of PAUSEs, then give the core away */
#if defined(__x86_64__) || defined(__i386__)
            else __builtin_ia32_pause();
#endif
        }
    }
}
static int fastnn_thread_num(void) { return omp_get_thread_num(); }
static int fastnn_num_threads(void) { return omp_get_num_threads(); }
#else
#define FASTNN_HAVE_OPENMP 0
static void fastnn_bar_wait(fastnn_bar_t* b, int n, int* local_sense) { (void)b; (void)n; (void)local_sense; }
static int fastnn_thread_num(void) { return 0; }
static int fastnn_num_threads(void) { return 1; }
#endif

#endif
