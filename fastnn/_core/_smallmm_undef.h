/* Undefine the element-type parameters of _smallmm_body.h (see _smallmm.h),
   after each instantiation, so that the next one can set them again.  No
   include guard: it is meant to be included many times. */
#undef T
#undef V
#undef VW
#undef VZERO
#undef VSET1
#undef VLOAD
#undef VSTORE
#undef VLOADM
#undef VSTOREM
#undef VFMA
#undef VMUL
#undef VREDUCE
#undef SFMA
#undef FN
