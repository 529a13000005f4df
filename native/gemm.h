/* paramflow's own sgemm (native/gemm.c): one fixed arithmetic on every kernel, CPU and thread count. */
#ifndef PARAMFLOW_GEMM_H
#define PARAMFLOW_GEMM_H
#include <stddef.h>

/* C rows: C[i*ldc + j] = sum over p of A[i*rsa + p*csa] · B[p*rsb + j*csb], fma in increasing p. */
void gemm_rows(int m, int n, int k, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc);

/* Picks a micro-kernel by name (NULL: the widest this CPU runs); 0 if that one cannot run here. */
int gemm_select(const char *name);
const char *gemm_kernel_name(void);
/* The kernels this CPU can run, widest first (at most 8). */
void gemm_kernel_names(const char **out, int *count);

#endif
