/*
 * paramflow's own single-precision GEMM: C (m×n) = op(A) · op(B), row-major, with one fixed
 * arithmetic on every processor. Each output is
 *
 *     c = 0;  for p = 0 .. k-1:  c = fma(op(A)[i,p], op(B)[p,j], c)
 *
 * in increasing p, one rounding per step. Kernels vectorise across j (and unroll across i),
 * never across p; k-blocking stores the running sum to C in float32 and picks it up again,
 * which loses nothing. So the AVX-512, AVX2+FMA, NEON and scalar (fmaf) kernels, and any
 * thread count (rows of C are shared out), give the same bits: a cached result made on one
 * CPU is the result another CPU would compute (docs/native.md).
 *
 * Blocking: a micro-kernel keeps an MR × NR tile of C in registers while it walks a KC-long
 * slice of k. op(B) is read in place when it is row-major with a full NR-wide panel (the fused
 * trainer's forward and weight-gradient products); otherwise (transposed B, the right edge) a
 * KC × NR panel is packed, zero-padded. op(A) is read in place through its two strides (no
 * packing: the seed shapes have few rows per B panel, where packing A would cost more than it
 * saves); rows past the bottom edge are copied into a zero-padded block.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "gemm.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#define KC 256
#define MAX_MR 8
#define MAX_NR 32

/* A tile: c[i*ldc + j] for i < MR, j < NR; A(i, p) = a[i*rsa + p*csa]; B(p, j) = b[p*rsb + j]. */
typedef void (*micro_kernel)(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc, int first);

typedef struct {
  const char *name;
  int mr, nr;
  micro_kernel run;
  int (*supported)(void);
} kernel_info;

/* ---- scalar: fmaf, 4 × 4 ---- */

static void k_scalar(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc, int first) {
  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = first ? 0.0f : c[i * ldc + j];
  for (int p = 0; p < kc; p++, a += csa, b += rsb)
    for (int i = 0; i < 4; i++) {
      const float x = a[i * rsa];
      for (int j = 0; j < 4; j++) acc[i][j] = fmaf(x, b[j], acc[i][j]);
    }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) c[i * ldc + j] = acc[i][j];
}

static int always(void) { return 1; }

/* ---- x86-64: AVX-512 8 × 32 and AVX2+FMA 6 × 16 ---- */

#if defined(__x86_64__) && defined(__GNUC__)
#define TILE_KERNEL(NAME, TARGET, VEC, W, MR, NV, ZERO, LOAD, STORE, SET1, FMA)                                          \
  __attribute__((target(TARGET))) static void NAME(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, \
                                                   ptrdiff_t rsb, float *c, ptrdiff_t ldc, int first) {                  \
    VEC acc[MR][NV];                                                                                                     \
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)            \
        acc[i][v] = first ? ZERO() : LOAD(c + i * ldc + v * W);                                                          \
    for (int p = 0; p < kc; p++, a += csa, b += rsb) {                                                                   \
      VEC bv[NV];                                                                                                        \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] = LOAD(b + v * W);                                      \
      _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) {                                                             \
        const VEC x = SET1(a[i * rsa]);                                                                                  \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] = FMA(x, bv[v], acc[i][v]);                       \
      }                                                                                                                  \
    }                                                                                                                    \
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)            \
        STORE(c + i * ldc + v * W, acc[i][v]);                                                                           \
  }

TILE_KERNEL(k_avx512, "avx512f", __m512, 16, 8, 2, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps)
TILE_KERNEL(k_avx2, "avx2,fma", __m256, 8, 6, 2, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps)

static int has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

/* ---- arm64: NEON 8 × 8 ---- */

#if defined(__aarch64__)
static void k_neon(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc, int first) {
  float32x4_t acc[8][2];
  for (int i = 0; i < 8; i++)
    for (int v = 0; v < 2; v++) acc[i][v] = first ? vdupq_n_f32(0.0f) : vld1q_f32(c + i * ldc + v * 4);
  for (int p = 0; p < kc; p++, a += csa, b += rsb) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    for (int i = 0; i < 8; i++) {
      const float32x4_t x = vdupq_n_f32(a[i * rsa]);
      acc[i][0] = vfmaq_f32(acc[i][0], x, b0); /* acc + x·b, one rounding */
      acc[i][1] = vfmaq_f32(acc[i][1], x, b1);
    }
  }
  for (int i = 0; i < 8; i++)
    for (int v = 0; v < 2; v++) vst1q_f32(c + i * ldc + v * 4, acc[i][v]);
}
#endif

/* Widest first: the default is the first one this processor supports. */
static const kernel_info KERNELS[] = {
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx512", 8, 32, k_avx512, has_avx512},
    {"avx2", 6, 16, k_avx2, has_avx2},
#endif
#if defined(__aarch64__)
    {"neon", 8, 8, k_neon, always},
#endif
    {"scalar", 4, 4, k_scalar, always},
};
#define KERNEL_COUNT ((int)(sizeof(KERNELS) / sizeof(KERNELS[0])))

static const kernel_info *current = NULL;

const char *gemm_kernel_name(void) {
  if (!current) gemm_select(NULL);
  return current->name;
}

int gemm_select(const char *name) {
  for (int i = 0; i < KERNEL_COUNT; i++) {
    const kernel_info *k = &KERNELS[i];
    if ((name && strcmp(name, k->name) != 0) || !k->supported()) continue;
    current = k;
    return 1;
  }
  if (!current) current = &KERNELS[KERNEL_COUNT - 1];
  return 0;
}

void gemm_kernel_names(const char **out, int *count) {
  *count = 0;
  for (int i = 0; i < KERNEL_COUNT; i++)
    if (KERNELS[i].supported()) out[(*count)++] = KERNELS[i].name;
}

/*
 * The driver for rows of C: op(A) element (i, p) is a[i*rsa + p*csa], op(B) element (p, j) is
 * b[p*rsb + j*csb]; C rows are ldc apart.
 */
void gemm_rows(int m, int n, int k, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc) {
  const kernel_info *K = current ? current : (gemm_select(NULL), current);
  const int MR = K->mr, NR = K->nr;
  if (k == 0) {
    for (int i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
    return;
  }
  float bpack[KC * MAX_NR] __attribute__((aligned(64)));
  float apack[KC * MAX_MR] __attribute__((aligned(64)));
  float ctile[MAX_MR * MAX_NR] __attribute__((aligned(64)));
  for (int jc = 0; jc < n; jc += NR) {
    const int nr = n - jc < NR ? n - jc : NR;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC, first = pc == 0;
      const float *bp;
      ptrdiff_t rsb_p;
      if (csb == 1 && nr == NR) {
        bp = b + pc * rsb + jc;
        rsb_p = rsb;
      } else {
        for (int p = 0; p < kc; p++)
          for (int j = 0; j < NR; j++) bpack[p * NR + j] = j < nr ? b[(pc + p) * rsb + (jc + j) * csb] : 0.0f;
        bp = bpack;
        rsb_p = NR;
      }
      for (int ic = 0; ic < m; ic += MR) {
        const int mr = m - ic < MR ? m - ic : MR;
        const float *ap = a + ic * rsa + pc * csa;
        ptrdiff_t rsa_p = rsa, csa_p = csa;
        if (mr < MR) {
          for (int p = 0; p < kc; p++)
            for (int i = 0; i < MR; i++) apack[p * MR + i] = i < mr ? ap[i * rsa + p * csa] : 0.0f;
          ap = apack;
          rsa_p = 1;
          csa_p = MR;
        }
        float *cp = c + ic * ldc + jc;
        if (mr == MR && nr == NR) {
          K->run(kc, ap, rsa_p, csa_p, bp, rsb_p, cp, ldc, first);
          continue;
        }
        if (!first)
          for (int i = 0; i < mr; i++) memcpy(ctile + i * NR, cp + i * ldc, (size_t)nr * sizeof(float));
        K->run(kc, ap, rsa_p, csa_p, bp, rsb_p, ctile, NR, first);
        for (int i = 0; i < mr; i++) memcpy(cp + i * ldc, ctile + i * NR, (size_t)nr * sizeof(float));
      }
    }
  }
}
