/* The elementwise activations, each one line: its code, its name, its value
   at the weighted input z, and its derivative written from its output a
   (what a forward pass keeps).  The Python registry, fastnn/activations.py,
   has one row per line with the same code, name and arithmetic; the
   expressions may use

     T       the element type (float or double)
     p       the activation's one parameter, as a T (0 for those without one)
     EXP, EXPM1, TANH   the math functions of T
     ONE, ZERO          1 and 0 as T (a bare 1.0 would make float compute in double)

   Code 4 is softmax, which is not elementwise (the whole row: _layers.pxd). */
#define FASTNN_ACTIVATIONS(X)                                                   \
    X(0, sigmoid,    ONE / (ONE + EXP(-z)),    a * (ONE - a))                   \
    X(1, tanh,       TANH(z),                  ONE - a * a)                     \
    X(2, relu,       z > 0 ? z : ZERO,         a > 0 ? ONE : ZERO)              \
    X(3, linear,     z,                        ONE)                             \
    X(5, leaky_relu, z > 0 ? z : p * z,        a > 0 ? ONE : p)                 \
    X(6, elu,        z > 0 ? z : p * EXPM1(z), a > 0 ? ONE : a + p)           \
    X(7, exp,        EXP(z),                   a)

#ifndef FASTNN_ACTIVATIONS_H
#define FASTNN_ACTIVATIONS_H

#include <math.h>
#include <stddef.h>

/* What the kernels are told about an activation: its code and parameter. */
typedef struct {
    int code;
    double p;
} fastnn_activation;

/* FASTNN_ACT_relu = 2, ...: the codes by name, for the kernels' special cases. */
#define FASTNN_ACT_ENUM(CODE, NAME, VALUE, PRIME) FASTNN_ACT_##NAME = CODE,
enum { FASTNN_ACTIVATIONS(FASTNN_ACT_ENUM) FASTNN_ACT_SOFTMAX = 4 };
#undef FASTNN_ACT_ENUM

/* 1 if `code` is one of the elementwise activations above. */
static inline int fastnn_act_known(int code)
{
#define FASTNN_ACT_CASE(CODE, NAME, VALUE, PRIME) case CODE: return 1;
    switch (code) { FASTNN_ACTIVATIONS(FASTNN_ACT_CASE) }
#undef FASTNN_ACT_CASE
    return 0;
}

/* The name of an elementwise activation's code ("" for another code). */
static inline const char* fastnn_act_name(int code)
{
#define FASTNN_ACT_CASE(CODE, NAME, VALUE, PRIME) case CODE: return #NAME;
    switch (code) { FASTNN_ACTIVATIONS(FASTNN_ACT_CASE) }
#undef FASTNN_ACT_CASE
    return "";
}

/* For each type, the functions of one activation (fastnn_relu_d(z, p),
   fastnn_relu_prime_d(a, p), ...), and four that take the description and
   choose once, outside any loop over elements:

     fastnn_act_S(act, z)                    one value
     fastnn_act_prime_S(act, a)              one derivative, from the output
     fastnn_act_bias_S(act, n, out, b)       out[j] = f(out[j] + b[j]), j < n
                                             (b NULL: out[j] = f(out[j]))
     fastnn_act_prime_times_S(act, n, d, a)  d[i] = d[i] * f'(a[i]), i < n  */
#define FASTNN_ACT_FUNCTIONS(NAME, VALUE, PRIME)                                         \
    static inline T FASTNN_ACT_FN(NAME)(T z, T p) { (void)p; return VALUE; }                \
    static inline T FASTNN_ACT_FN(NAME##_prime)(T a, T p) { (void)a; (void)p; return PRIME; }
#define FASTNN_ACT_DEFINE(CODE, NAME, VALUE, PRIME) FASTNN_ACT_FUNCTIONS(NAME, VALUE, PRIME)
#define FASTNN_ACT_VALUE(CODE, NAME, VALUE, PRIME) \
    case CODE: return FASTNN_ACT_FN(NAME)(z, p);
#define FASTNN_ACT_PRIME(CODE, NAME, VALUE, PRIME) \
    case CODE: return FASTNN_ACT_FN(NAME##_prime)(a, p);
#define FASTNN_ACT_BIAS(CODE, NAME, VALUE, PRIME)                                \
    case CODE:                                                                   \
        if (b != NULL)                                                           \
            for (i = 0; i < n; i++) out[i] = FASTNN_ACT_FN(NAME)(out[i] + b[i], p); \
        else                                                                     \
            for (i = 0; i < n; i++) out[i] = FASTNN_ACT_FN(NAME)(out[i], p);     \
        return;
#define FASTNN_ACT_TIMES(CODE, NAME, VALUE, PRIME)                               \
    case CODE:                                                                   \
        for (i = 0; i < n; i++) d[i] = d[i] * FASTNN_ACT_FN(NAME##_prime)(a[i], p); \
        return;

#define FASTNN_ACT_BODY(S)                                                                   \
    FASTNN_ACTIVATIONS(FASTNN_ACT_DEFINE)                                                    \
    static inline T fastnn_act_##S(fastnn_activation act, T z)                               \
    {                                                                                        \
        T p = (T)act.p;                                                                      \
        switch (act.code) { FASTNN_ACTIVATIONS(FASTNN_ACT_VALUE) }                           \
        return z;                                                                            \
    }                                                                                        \
    static inline T fastnn_act_prime_##S(fastnn_activation act, T a)                         \
    {                                                                                        \
        T p = (T)act.p;                                                                      \
        switch (act.code) { FASTNN_ACTIVATIONS(FASTNN_ACT_PRIME) }                           \
        return ONE;                                                                          \
    }                                                                                        \
    static inline void fastnn_act_bias_##S(fastnn_activation act, ptrdiff_t n, T* out,       \
                                           const T* b)                                       \
    {                                                                                        \
        T p = (T)act.p;                                                                      \
        ptrdiff_t i;                                                                         \
        switch (act.code) { FASTNN_ACTIVATIONS(FASTNN_ACT_BIAS) }                            \
    }                                                                                        \
    static inline void fastnn_act_prime_times_##S(fastnn_activation act, ptrdiff_t n, T* d,  \
                                                  const T* a)                                \
    {                                                                                        \
        T p = (T)act.p;                                                                      \
        ptrdiff_t i;                                                                         \
        switch (act.code) { FASTNN_ACTIVATIONS(FASTNN_ACT_TIMES) }                           \
    }

#define T float
#define ONE 1.0f
#define ZERO 0.0f
#define EXP expf
#define EXPM1 expm1f
#define TANH tanhf
#define FASTNN_ACT_FN(NAME) fastnn_##NAME##_f
FASTNN_ACT_BODY(f)
#undef T
#undef ONE
#undef ZERO
#undef EXP
#undef EXPM1
#undef TANH
#undef FASTNN_ACT_FN

#define T double
#define ONE 1.0
#define ZERO 0.0
#define EXP exp
#define EXPM1 expm1
#define TANH tanh
#define FASTNN_ACT_FN(NAME) fastnn_##NAME##_d
FASTNN_ACT_BODY(d)
#undef T
#undef ONE
#undef ZERO
#undef EXP
#undef EXPM1
#undef TANH
#undef FASTNN_ACT_FN

#endif
