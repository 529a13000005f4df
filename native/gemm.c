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
 * slice of k (the loops are described at gemm_rows). op(B) is read in place when it is row-major with a full NR-wide panel (the fused
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
#define NC 256
#define MAX_MR 8
#define MAX_NR 32
#define NC_MAX_PANELS (NC / 4 + 1)

/* A tile: c[i*ldc + j] for i < MR, j < NR; A(i, p) = a[i*rsa + p*csa]; B(p, j) = b[p*rsb + j]. */
typedef void (*micro_kernel)(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc, int first);

typedef struct {
  const char *name;
  int mr, nr;
  micro_kernel run;
  int (*supported)(void);
} kernel_info;

/* ---- scalar: fmaf, 4 × 4 ---- */

/* C's fmaf is exact everywhere; where the CPU has FMA (x86-64 GCC clones) it becomes one
   instruction instead of a libm call, about 40× faster, with the same bits. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("fma", "default")))
#endif
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

/* One call's operands, blocks and scratch space, shared by the loops of gemm_rows. */
typedef struct {
  const kernel_info *K;
  int m, n, k;
  const float *a;
  ptrdiff_t rsa, csa;
  float *c;
  ptrdiff_t ldc;
  const float *panel[NC_MAX_PANELS];
  ptrdiff_t panel_rs[NC_MAX_PANELS];
  float *apack;
  float ctile[MAX_MR * MAX_NR] __attribute__((aligned(64)));
} job;

/* C tile (ic, panel q of the block at jb), k from p0 + pc for kc: in place, or through ctile at an edge. */
static void tile(job *J, int ic, int jb, int q, int p0, int pc, int kc) {
  const int MR = J->K->mr, NR = J->K->nr;
  const int mr = J->m - ic < MR ? J->m - ic : MR, jc = jb + q * NR, nr = J->n - jc < NR ? J->n - jc : NR;
  const int first = p0 + pc == 0;
  const float *ap = J->a + ic * J->rsa + (p0 + pc) * J->csa;
  ptrdiff_t rsa = J->rsa, csa = J->csa;
  if (mr < MR) { /* rows past the bottom: a zero-padded copy */
    for (int p = 0; p < kc; p++)
      for (int i = 0; i < MR; i++) J->apack[p * MR + i] = i < mr ? ap[i * rsa + p * csa] : 0.0f;
    ap = J->apack;
    rsa = 1;
    csa = MR;
  }
  const float *bp = J->panel[q] + pc * J->panel_rs[q];
  float *cp = J->c + ic * J->ldc + jc;
  if (mr == MR && nr == NR) {
    J->K->run(kc, ap, rsa, csa, bp, J->panel_rs[q], cp, J->ldc, first);
    return;
  }
  if (!first)
    for (int i = 0; i < mr; i++) memcpy(J->ctile + i * NR, cp + i * J->ldc, (size_t)nr * sizeof(float));
  J->K->run(kc, ap, rsa, csa, bp, J->panel_rs[q], J->ctile, NR, first);
  for (int i = 0; i < mr; i++) memcpy(cp + i * J->ldc, J->ctile + i * NR, (size_t)nr * sizeof(float));
}

/*
 * The driver for rows of C: op(A) element (i, p) is a[i*rsa + p*csa], op(B) element (p, j) is
 * b[p*rsb + j*csb]; C rows are ldc apart.
 *
 * Loops: NC-wide column blocks of B, each prepared (read in place, or packed) for a pass over
 * k, then one of two orders. When A is larger than L2 and the block's k × NC of B fits there
 * (a validation pass: 2,500 cold rows × 2,000 inputs against 2,000 × 64 weights), each MR-row
 * tile of A walks the whole of k across every panel, so A streams once in long runs. Otherwise
 * (a training batch: A fits in cache) panel by panel, KC at a time, over every row tile, so the
 * panel stays in L1. The order never changes a result: each element's k order is fixed.
 */
#define WHOLE_K_BYTES (768 * 1024)
#define A_STREAM_BYTES (2 * 1024 * 1024)

void gemm_rows(int m, int n, int k, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc) {
  if (k == 0) {
    for (int i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
    return;
  }
  job *J = aligned_alloc(64, (sizeof(job) + 63) / 64 * 64);
  if (!J) abort();
  *J = (job){.K = current ? current : (gemm_select(NULL), current), .m = m, .n = n, .k = k, .a = a, .rsa = rsa, .csa = csa, .c = c, .ldc = ldc};
  const int MR = J->K->mr, NR = J->K->nr;
  const int stream = (size_t)m * k * sizeof(float) > A_STREAM_BYTES && (size_t)k * (n < NC ? n : NC) * sizeof(float) <= WHOLE_K_BYTES;
  const int kstep = stream ? k : KC;
  float *bpack = aligned_alloc(64, sizeof(float) * ((size_t)kstep * (NC + MAX_NR) + (size_t)KC * MAX_MR));
  if (!bpack) abort();
  J->apack = bpack + (size_t)kstep * (NC + MAX_NR);
  for (int jb = 0; jb < n; jb += NC) {
    const int nb = n - jb < NC ? n - jb : NC, panels = (nb + NR - 1) / NR;
    for (int p0 = 0; p0 < k; p0 += kstep) {
      const int kext = k - p0 < kstep ? k - p0 : kstep;
      for (int q = 0; q < panels; q++) {
        const int jc = jb + q * NR, nr = n - jc < NR ? n - jc : NR;
        if (csb == 1 && nr == NR) {
          J->panel[q] = b + p0 * rsb + jc;
          J->panel_rs[q] = rsb;
          continue;
        }
        float *dst = bpack + (size_t)q * kext * NR;
        for (int p = 0; p < kext; p++)
          for (int j = 0; j < NR; j++) dst[(size_t)p * NR + j] = j < nr ? b[(p0 + p) * rsb + (jc + j) * csb] : 0.0f;
        J->panel[q] = dst;
        J->panel_rs[q] = NR;
      }
      if (stream) {
        for (int ic = 0; ic < m; ic += MR)
          for (int pc = 0; pc < kext; pc += KC)
            for (int q = 0; q < panels; q++) tile(J, ic, jb, q, p0, pc, kext - pc < KC ? kext - pc : KC);
      } else {
        for (int q = 0; q < panels; q++)
          for (int ic = 0; ic < m; ic += MR) tile(J, ic, jb, q, p0, 0, kext);
      }
    }
  }
  free(bpack);
  free(J);
}
