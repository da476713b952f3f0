/* The small-matrix products, written once: _smallmm.h includes this file once
   for each (instruction set, dtype) pair, after defining

     T            the element type (float or double)
     V, VW        the vector type and its number of lanes (V = T, VW = 1 in C)
     VZERO, VSET1(x), VLOAD(p), VSTORE(p, v), VFMA(a, b, c) = a*b + c, VMUL
     VLOADM(p, n), VSTOREM(p, v, n)  the first n < VW lanes only (the others
                  read as zero and are not written; nothing past them is touched)
     VREDUCE(v)   the sum of the lanes, in a fixed order
     SFMA(a, b, c) a*b + c on scalars, rounded once where the set has FMA
                  (spelled out: left to the compiler, a*b + c is fused in
                  some copies of a block and not in others)
     ATTR         the function attribute that enables the instruction set
     FN(name)     the name with the variant's suffix
     DOT_MR, DOT_NR  the dot-product block: rows of A by rows of B
     OUT_MR, OUT_NV  the outer-product block: rows of C by vectors of columns

   Every element of C is computed by the same sequence of operations whatever
   block or tail it falls in (the blocks only decide which elements share
   loads): so a product split by columns or rows, as the threads split the
   first layer, gives bit for bit what the whole product gives. */

/* C[0:mr, 0:nr] = alpha * A[0:mr, :K] B[0:nr, :K]^T (+ beta * C): dot
   products along K, each kept as VW partial sums and added up at the end.
   This call adds k0 <= k < k1 to the partial sums: starting from zero
   (first) or from S, then leaving them in S or (last) adding them up into
   C.  Storing and reloading them is exact: a product cut into K chunks gives
   bit for bit the uncut one. */
static inline __attribute__((always_inline)) ATTR void
FN(dot_block)(const int mr, const int nr, int k0, int k1, int K, V* S, int first, int last,
              T alpha, const T* A, ptrdiff_t lda, const T* B, ptrdiff_t ldb, T beta, T* C,
              ptrdiff_t ldc)
{
    V acc[DOT_MR][DOT_NR];
    int i, j, k;
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j++)
            acc[i][j] = first ? VZERO : S[i * DOT_NR + j];
    for (k = k0; k + VW <= k1; k += VW) {
        V b[DOT_NR];
        for (j = 0; j < nr; j++)
            b[j] = VLOAD(B + j * ldb + k);
        for (i = 0; i < mr; i++) {
            V a = VLOAD(A + i * lda + k);
            for (j = 0; j < nr; j++)
                acc[i][j] = VFMA(a, b[j], acc[i][j]);
        }
    }
    if (k < k1) {                       /* K's last, partial vector */
        V b[DOT_NR];
        for (j = 0; j < nr; j++)
            b[j] = VLOADM(B + j * ldb + k, k1 - k);
        for (i = 0; i < mr; i++) {
            V a = VLOADM(A + i * lda + k, k1 - k);
            for (j = 0; j < nr; j++)
                acc[i][j] = VFMA(a, b[j], acc[i][j]);
        }
    }
    (void)K;
    if (!last) {
        for (i = 0; i < mr; i++)
            for (j = 0; j < nr; j++)
                S[i * DOT_NR + j] = acc[i][j];
        return;
    }
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j++) {
            T s = VREDUCE(acc[i][j]);
            T* c = C + i * ldc + j;
            *c = beta == 0 ? alpha * s : SFMA(alpha, s, beta * *c);   /* beta 0: C is not read */
        }
}

/* C[0:mr, cols] = alpha * sum_k A(i, k) B[k, cols] (+ beta * C): outer
   products, one per k, added up in k's order; A(i, k) is A[i*sar + k*sak],
   so A may be read as itself (sar = lda, sak = 1) or transposed.  The
   columns are nv whole vectors, or (rem > 0) one vector's first rem lanes. */
static inline __attribute__((always_inline)) ATTR void
FN(outer_block)(const int mr, const int nv, const int rem, int K, T alpha, const T* A,
                ptrdiff_t sar, ptrdiff_t sak, const T* B, ptrdiff_t ldb, T beta, T* C,
                ptrdiff_t ldc)
{
    V acc[OUT_MR][OUT_NV];
    int i, v, k;
    for (i = 0; i < mr; i++)
        for (v = 0; v < nv; v++)
            acc[i][v] = VZERO;
    for (k = 0; k < K; k++) {
        V b[OUT_NV];
        const T* bk = B + k * ldb;
        const T* ak = A + k * sak;
        for (v = 0; v < nv; v++)
            b[v] = rem ? VLOADM(bk, rem) : VLOAD(bk + v * VW);
        for (i = 0; i < mr; i++) {
            V a = VSET1(ak[i * sar]);
            for (v = 0; v < nv; v++)
                acc[i][v] = VFMA(a, b[v], acc[i][v]);
        }
    }
    {
        /* two loops rather than a test in one: with the test inside, the
           compiler kept the accumulators on the stack for the epilogue */
        V va = VSET1(alpha), vb = VSET1(beta);
        if (beta == 0) {
            for (i = 0; i < mr; i++)
                for (v = 0; v < nv; v++) {
                    T* c = C + i * ldc + v * VW;
                    if (rem)
                        VSTOREM(c, VMUL(va, acc[i][v]), rem);
                    else
                        VSTORE(c, VMUL(va, acc[i][v]));
                }
        } else {
            for (i = 0; i < mr; i++)
                for (v = 0; v < nv; v++) {
                    T* c = C + i * ldc + v * VW;
                    if (rem)
                        VSTOREM(c, VFMA(va, acc[i][v], VMUL(vb, VLOADM(c, rem))), rem);
                    else
                        VSTORE(c, VFMA(va, acc[i][v], VMUL(vb, VLOAD(c))));
                }
        }
    }
}

/* nt works on panels of NT_NP neurons (rows of B), and K in chunks of NT_KC:
   a panel's weights are read from memory once, for every row block of A, and
   a chunk of the row block stays in the L1 cache while the panel's neurons
   pass it (ten whole rows of 784 doubles would not); the partial sums wait
   in S between chunks.  (Measured here, 784 x 10 x H float64: 78 GFLOP/s
   without chunks, 96 with these; the float32 rows fit in one chunk.) */
#define NT_KC 512
#define NT_NP (2 * DOT_NR)
#define NT_BLOCKS (NT_NP / DOT_NR + DOT_NR)

#define FASTNN_DOT_ROWS(mr)                                                       \
    case mr:                                                                      \
        for (k0 = 0; k0 < K; k0 += NT_KC) {                                       \
            int k1 = K - k0 < NT_KC ? K : k0 + NT_KC;                             \
            V* s = S;                                                             \
            for (j = jp; j + DOT_NR <= jn; j += DOT_NR, s += DOT_MR * DOT_NR)     \
                FN(dot_block)(mr, DOT_NR, k0, k1, K, s, k0 == 0, k1 == K, alpha,  \
                              A + i * lda, lda, B + j * ldb, ldb, beta,           \
                              C + i * ldc + j, ldc);                              \
            for (; j < jn; j++, s += DOT_MR * DOT_NR)                             \
                FN(dot_block)(mr, 1, k0, k1, K, s, k0 == 0, k1 == K, alpha,       \
                              A + i * lda, lda, B + j * ldb, ldb, beta,           \
                              C + i * ldc + j, ldc);                              \
        }                                                                         \
        break;

/* Row-major C[M,N] = alpha * A[M,K] B[N,K]^T + beta * C. */
static ATTR void
FN(gemm_nt)(int M, int N, int K, T alpha, const T* A, ptrdiff_t lda, const T* B,
            ptrdiff_t ldb, T beta, T* C, ptrdiff_t ldc)
{
    V S[NT_BLOCKS * DOT_MR * DOT_NR];
    int i, j, jp, jn, k0;
    for (jp = 0; jp < N; jp += NT_NP) {
      jn = N - jp < NT_NP ? N : jp + NT_NP;
      for (i = 0; i < M; i += DOT_MR) {
        switch (M - i < DOT_MR ? M - i : DOT_MR) {
        FASTNN_DOT_ROWS(1)
#if DOT_MR >= 2
        FASTNN_DOT_ROWS(2)
#endif
#if DOT_MR >= 3
        FASTNN_DOT_ROWS(3)
#endif
#if DOT_MR >= 4
        FASTNN_DOT_ROWS(4)
#endif
#if DOT_MR >= 5
        FASTNN_DOT_ROWS(5)
#endif
#if DOT_MR >= 6
#error "DOT_MR > 5: add cases"
#endif
        }
      }
    }
}
#undef FASTNN_DOT_ROWS
#undef NT_KC
#undef NT_NP
#undef NT_BLOCKS

#define FASTNN_OUTER_ROWS(mr)                                                     \
    case mr:                                                                      \
        for (j = 0; j + OUT_NV * VW <= N; j += OUT_NV * VW)                       \
            FN(outer_block)(mr, OUT_NV, 0, K, alpha, A + i * sar, sar, sak,       \
                            B + j, ldb, beta, C + i * ldc + j, ldc);              \
        for (; j + VW <= N; j += VW)                                              \
            FN(outer_block)(mr, 1, 0, K, alpha, A + i * sar, sar, sak, B + j,     \
                            ldb, beta, C + i * ldc + j, ldc);                     \
        if (VW > 1 && j < N)                                                      \
            FN(outer_block)(mr, 1, N - j, K, alpha, A + i * sar, sar, sak, B + j, \
                            ldb, beta, C + i * ldc + j, ldc);                     \
        break;

/* Row-major C[M,N] = alpha * op(A)[M,K] B[K,N] + beta * C, with op(A)[i,k] =
   A[i*sar + k*sak]. */
static ATTR void
FN(gemm_outer)(int M, int N, int K, T alpha, const T* A, ptrdiff_t sar, ptrdiff_t sak,
               const T* B, ptrdiff_t ldb, T beta, T* C, ptrdiff_t ldc)
{
    int i, j;
    for (i = 0; i < M; i += OUT_MR) {
        j = 0;
        switch (M - i < OUT_MR ? M - i : OUT_MR) {
        FASTNN_OUTER_ROWS(1)
#if OUT_MR >= 2
        FASTNN_OUTER_ROWS(2)
#endif
#if OUT_MR >= 3
        FASTNN_OUTER_ROWS(3)
#endif
#if OUT_MR >= 4
        FASTNN_OUTER_ROWS(4)
#endif
#if OUT_MR >= 5
        FASTNN_OUTER_ROWS(5)
#endif
#if OUT_MR >= 6
        FASTNN_OUTER_ROWS(6)
#endif
#if OUT_MR >= 7
        FASTNN_OUTER_ROWS(7)
#endif
#if OUT_MR >= 8
        FASTNN_OUTER_ROWS(8)
#endif
#if OUT_MR >= 9
        FASTNN_OUTER_ROWS(9)
#endif
#if OUT_MR >= 10
        FASTNN_OUTER_ROWS(10)
#endif
#if OUT_MR >= 11
        FASTNN_OUTER_ROWS(11)
#endif
#if OUT_MR >= 12
        FASTNN_OUTER_ROWS(12)
#endif
#if OUT_MR >= 13
#error "OUT_MR > 12: add cases"
#endif
        }
    }
}
#undef FASTNN_OUTER_ROWS
