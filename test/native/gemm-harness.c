/*
 * native/gemm.c without Node: for each shape, transpose pair and kernel this CPU runs, one line
 *   m n k ta tb kernel fnv1a64(C bytes)
 * so builds for different CPUs (test/backend/gemm-neon.test.ts: x86-64 here, arm64 under qemu)
 * can be compared bit for bit; kernel "reference" is the contract written out (a plain fmaf
 * chain over p from 0, in increasing order), which every kernel must match. Inputs: an integer LCG, the same values as test/backend/gemm-kernels.test.ts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "../../native/gemm.h"

static void values(float *out, size_t n, uint32_t s) {
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    out[i] = (float)((double)s / 4294967296.0 * 2.0 - 1.0); /* exact in double; one rounding to float */
  }
}

static uint64_t fnv1a(const void *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3u;
  return h;
}

/* Odd sizes: off the tiles (8×32, 6×16, 8×8, 4×4) and the k-block (256). */
static const int SHAPES[][3] = {{1, 1, 1}, {1, 7, 3}, {13, 1, 5}, {7, 13, 29}, {9, 33, 257}, {17, 31, 513}, {64, 64, 2000}, {2000, 64, 64}, {64, 2000, 4}};

int main(void) {
  const char *kernels[8];
  int nk;
  gemm_kernel_names(kernels, &nk);
  printf("kernels");
  for (int q = 0; q < nk; q++) printf(" %s", kernels[q]);
  printf("\n");
  for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
    const int m = SHAPES[s][0], n = SHAPES[s][1], k = SHAPES[s][2];
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    values(a, (size_t)m * k, (uint32_t)(m * 31 + k));
    values(b, (size_t)k * n, (uint32_t)(n * 17 + k));
    for (int t = 0; t < 4; t++) {
      const int ta = t & 1, tb = t >> 1, lda = ta ? m : k, ldb = tb ? k : n;
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
          float acc = 0.0f;
          for (int p = 0; p < k; p++) acc = fmaf(ta ? a[p * lda + i] : a[i * lda + p], tb ? b[j * ldb + p] : b[p * ldb + j], acc);
          c[i * n + j] = acc;
        }
      printf("%d %d %d %d %d reference %016" PRIx64 "\n", m, n, k, ta, tb, fnv1a(c, sizeof(float) * m * n));
      for (int q = 0; q < nk; q++) {
        if (!gemm_select(kernels[q])) return 2;
        for (int i = 0; i < m * n; i++) c[i] = NAN; /* every element must be written */
        gemm_rows(m, n, k, a, ta ? 1 : lda, ta ? lda : 1, b, tb ? 1 : ldb, tb ? ldb : 1, c, n);
        printf("%d %d %d %d %d %s %016" PRIx64 "\n", m, n, k, ta, tb, kernels[q], fnv1a(c, sizeof(float) * m * n));
      }
    }
    free(a), free(b), free(c);
  }
  return 0;
}
