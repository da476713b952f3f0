/* The instruction set fastnn's kernels run: one choice for the process.

   Every kernel that has vector variants (the small-matrix products of
   _smallmm.h, the row kernels of _rows.h, the float32 -> float64
   conversion of _convert.h, the range check of _range.h) asks
   fastnn_simd() or fastnn_simd_isa() which one to run.  The variants are
   compiled with function attributes, so no module needs -mavx flags and
   each runs on any x86-64; other compilers and CPUs compile the portable C
   only, and the level is then always "generic" (or "blas").

   Levels: FASTNN_SIMD_BLAS (the products go to BLAS; the other kernels run
   the best variant), GENERIC (portable C), AVX2 (with FMA), AVX512.  The
   level is read once from the CPU, or from the environment variable
   FASTNN_SIMD = avx512 | avx2 | generic | blas, and can be switched for the
   tests (fastnn._core._simd.set_simd).

   Each extension module that includes this header gets its own copy of the
   static variables below.  The level itself lives in one module
   (fastnn._core._simd); every other module points fastnn_simd_level at it
   when it is imported (fastnn_simd_share), so one switch reaches every
   kernel of every module. */
#ifndef FASTNN_SIMD_H
#define FASTNN_SIMD_H

#include <stdlib.h>
#include <string.h>

enum { FASTNN_SIMD_BLAS = 0, FASTNN_SIMD_GENERIC = 1, FASTNN_SIMD_AVX2 = 2,
       FASTNN_SIMD_AVX512 = 3 };

/* FASTNN_PORTABLE (setup.py: Windows, or asked for) builds the portable C only. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) \
    && !defined(FASTNN_PORTABLE)
#define FASTNN_X86_SIMD 1
#else
#define FASTNN_X86_SIMD 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FASTNN_LOAD_LEVEL(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define FASTNN_STORE_LEVEL(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)
#else   /* an int is read and written whole on the platforms fastnn builds for */
#define FASTNN_LOAD_LEVEL(p) (*(volatile int*)(p))
#define FASTNN_STORE_LEVEL(p, v) (*(volatile int*)(p) = (v))
#endif

/* The best variant this CPU runs (its operating system saving the vector
   registers too: GCC's and Clang's __builtin_cpu_supports check both). */
static inline int fastnn_simd_detect(void)
{
#if FASTNN_X86_SIMD
    __builtin_cpu_init();
    /* _rows.h compiles its AVX-512 variant for these too (every AVX-512 CPU but the
       Xeon Phi has them) */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("fma"))
        return FASTNN_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return FASTNN_SIMD_AVX2;
#endif
    return FASTNN_SIMD_GENERIC;
}

/* fastnn_simd_detect, asked once per module (kernels ask for it on every call at
   level "blas", through fastnn_simd_isa).  Threads that race write the same value. */
static int fastnn_simd_best_found = -1;

static inline int fastnn_simd_best(void)
{
    int best = FASTNN_LOAD_LEVEL(&fastnn_simd_best_found);
    if (best < 0) {
        best = fastnn_simd_detect();
        FASTNN_STORE_LEVEL(&fastnn_simd_best_found, best);
    }
    return best;
}

/* The variant named by FASTNN_SIMD (or the best one, unset or empty); one the
   CPU lacks, or an unknown name, falls back to the best one. */
static inline int fastnn_simd_from_env(void)
{
    const char* s = getenv("FASTNN_SIMD");
    int best = fastnn_simd_best();
    if (s == NULL || *s == '\0')
        return best;
    if (strcmp(s, "blas") == 0)
        return FASTNN_SIMD_BLAS;
    if (strcmp(s, "generic") == 0)
        return FASTNN_SIMD_GENERIC;
    if (strcmp(s, "avx2") == 0 && best >= FASTNN_SIMD_AVX2)
        return FASTNN_SIMD_AVX2;
    if (strcmp(s, "avx512") == 0 && best >= FASTNN_SIMD_AVX512)
        return FASTNN_SIMD_AVX512;
    return best;
}

/* This module's copy (-1: not chosen yet), and the level it follows: its
   own copy until fastnn_simd_share points it at the shared one. */
static int fastnn_simd_own = -1;
static int* fastnn_simd_level = &fastnn_simd_own;

/* Follow the level at ``shared`` (fastnn._core._simd's) from now on. */
static inline void fastnn_simd_share(int* shared)
{
    fastnn_simd_level = shared;
}

/* Where this module's level lives (the _simd module hands this out). */
static inline int* fastnn_simd_ref(void)
{
    return fastnn_simd_level;
}

/* The level in force, chosen on first use.  Threads that race to make the
   choice write the same value. */
static inline int fastnn_simd(void)
{
    int level = FASTNN_LOAD_LEVEL(fastnn_simd_level);
    if (level < 0) {
        level = fastnn_simd_from_env();
        FASTNN_STORE_LEVEL(fastnn_simd_level, level);
    }
    return level;
}

/* Force a variant (tests, benchmarks); returns the one in force, which is the
   best available one if the CPU lacks the one asked for. */
static inline int fastnn_simd_set(int level)
{
    int best = fastnn_simd_best();
    if (level > best)
        level = best;
    if (level < FASTNN_SIMD_BLAS)
        level = best;
    FASTNN_STORE_LEVEL(fastnn_simd_level, level);
    return level;
}

/* The instruction set of the kernels other than the small-matrix products:
   the level chosen, or the best one when the products go to BLAS. */
static inline int fastnn_simd_isa(void)
{
    int level = fastnn_simd();
    return level == FASTNN_SIMD_BLAS ? fastnn_simd_best() : level;
}

#endif
