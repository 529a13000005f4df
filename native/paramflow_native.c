/*
 * paramflow's native kernels: a small N-API addon called by the `native` TensorFlow.js backend
 * (src/backend/native/) and the fused MLP trainer (native/mlp.c). Every function works in place
 * on Float32Arrays the JS side owns (the cpu backend's tensor data): nothing is copied, and
 * nothing here allocates JS memory.
 *
 * Arithmetic (docs/native.md): products use paramflow's own GEMM (native/gemm.c), whose result
 * is fixed to the bit on every CPU and thread count; a build with PARAMFLOW_BLAS=openblas uses
 * OpenBLAS's sgemm instead (faster on some shapes, CPU-dependent bits). No -ffast-math and no FMA
 * contraction (scripts/build-native.mjs), and every loop runs in a fixed order. Subnormal floats
 * are flushed to zero inside every call (see "Subnormals" below).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>
#include "gemm.h"
#include "paramflow_native.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#ifdef PARAMFLOW_OPENBLAS
#include <cblas.h>
#endif

#define MAX_RANK 8

/*
 * Subnormals. A float below 2^-126 is slow on x86 (each operation on one takes a microcode
 * assist, ~100 cycles) and common in training: Adam's moments of a weight whose gradient stays
 * zero (a dead ReLU) decay geometrically through the subnormal range. Every call into the addon
 * runs with flush-to-zero and denormals-are-zero on (x86 MXCSR FTZ|DAZ, arm64 FPCR.FZ): a
 * subnormal result becomes 0 and a subnormal input counts as 0, as TensorFlow does on CPU.
 * The previous mode is restored before returning, so V8's and wasm's arithmetic on this thread
 * never changes; gemm's worker threads inherit the mode from the calling thread (POSIX).
 */
typedef uint64_t fp_mode;

static inline fp_mode fp_flush_on(void) {
#if defined(__x86_64__)
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
  return saved;
#elif defined(__aarch64__)
  uint64_t saved;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(saved));
  __asm__ __volatile__("msr fpcr, %0" : : "r"(saved | (1ull << 24))); /* FZ */
  return saved;
#else
  return 0;
#endif
}

static inline void fp_restore(fp_mode saved) {
#if defined(__x86_64__)
  _mm_setcsr((unsigned)saved);
#elif defined(__aarch64__)
  __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
#else
  (void)saved;
#endif
}

/* Every exported function goes through here: its C function is the callback's data. */
static napi_value flushed_call(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  const fp_mode saved = fp_flush_on();
  napi_value result = ((napi_callback)data)(env, info);
  fp_restore(saved);
  return result;
}

/*
 * Threads. Large products are split by rows of the output: each row is computed by exactly the
 * same code whatever the thread count, so results are bit-identical on 1 or n threads
 * (test/backend/native-addon.test.ts checks it). The opt-in OpenBLAS build makes one
 * single-threaded OpenBLAS call per product instead: its bits depend on the shape it is given. Products smaller than MT_WORK multiply-adds stay on the
 * calling thread: a hand-off costs more than it saves there.
 */
#define MT_WORK ((int64_t)1 << 24)
#define MAX_THREADS 64
static int max_threads = 1;

typedef struct {
  int ta, tb, m, n, k, lda, ldb;
  const float *a, *b;
  float *c;
} gemm_job;

static void run_job(const gemm_job *j) {
  if (j->m <= 0) return;
#ifdef PARAMFLOW_OPENBLAS
  cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, j->m, j->n, j->k, 1.0f, j->a, j->lda, j->b, j->ldb,
              0.0f, j->c, j->n);
#else
  /* op(A)[i, p]: A[i*lda + p], or A[p*lda + i] when transposed; op(B)[p, j] likewise. */
  gemm_rows(j->m, j->n, j->k, j->a, j->ta ? 1 : j->lda, j->ta ? j->lda : 1, j->b, j->tb ? 1 : j->ldb, j->tb ? j->ldb : 1, j->c, j->n);
#endif
}

static void *job_thread(void *p) {
  run_job((const gemm_job *)p);
  return NULL;
}

/* C (m×n) = op(A) · op(B), rows of C shared out over up to max_threads threads. */
void gemm(int ta, int tb, int m, int n, int k, const float *a, const float *b, float *c) {
  const int lda = ta ? m : k, ldb = tb ? k : n;
#ifdef PARAMFLOW_OPENBLAS
  /* One call, one thread: OpenBLAS picks kernels (and small-matrix paths) by the shape it is
     given and the CPU, so any split of the rows could change a row's bits on some CPU. */
  int parts = 1;
#else
  int parts = (int64_t)m * n * k >= MT_WORK ? max_threads : 1;
  if (parts > m / 16) parts = m / 16 > 1 ? m / 16 : 1;
#endif
  gemm_job jobs[MAX_THREADS];
  pthread_t threads[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (int p = 0; p < parts; p++) {
    const int r0 = (int)((int64_t)m * p / parts), r1 = (int)((int64_t)m * (p + 1) / parts);
    /* Rows r0..r1 of op(A): rows of A, or columns of A when it is transposed. */
    jobs[p] = (gemm_job){ta, tb, r1 - r0, n, k, lda, ldb, ta ? a + r0 : a + (size_t)r0 * k, b, c + (size_t)r0 * n};
    if (p > 0) started[p] = pthread_create(&threads[p], NULL, job_thread, &jobs[p]) == 0;
  }
  run_job(&jobs[0]);
  for (int p = 1; p < parts; p++) {
    if (started[p]) pthread_join(threads[p], NULL);
    else run_job(&jobs[p]); /* no thread to be had: do it here, same result */
  }
}

/* ---- argument helpers: they throw a JS TypeError and return 0 on bad input ---- */

int arg_f32(napi_env env, napi_value v, float **data, size_t *len) {
  napi_typedarray_type type;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &buf, &off) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "expected a Float32Array");
    return 0;
  }
  return 1; /* the data pointer already includes the byte offset */
}

int arg_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an integer");
    return 0;
  }
  return 1;
}

int arg_f64(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a number");
    return 0;
  }
  return 1;
}

static int arg_ints(napi_env env, napi_value v, int32_t *out, size_t max, size_t *n) {
  napi_typedarray_type type;
  void *data;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, n, &data, &buf, &off) != napi_ok || type != napi_int32_array || *n > max) {
    napi_throw_type_error(env, NULL, "expected an Int32Array of at most 8 values");
    return 0;
  }
  memcpy(out, data, *n * sizeof(int32_t));
  return 1;
}


int check(napi_env env, int ok, const char *message) {
  if (!ok) napi_throw_range_error(env, NULL, message);
  return ok;
}

/* ---- matmul ---- */

/*
 * sgemm(transA, transB, batch, M, N, K, A, aBatchStride, B, bBatchStride, C): for each batch i,
 * C[i] (M×N) = op(A[i]) · op(B[i]), row-major; a batch stride of 0 broadcasts that operand.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  ARGS(11);
  int32_t ta, tb, batch, m, n, k, sa, sb;
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!arg_i32(env, argv[0], &ta) || !arg_i32(env, argv[1], &tb) || !arg_i32(env, argv[2], &batch) || !arg_i32(env, argv[3], &m) ||
      !arg_i32(env, argv[4], &n) || !arg_i32(env, argv[5], &k) || !arg_f32(env, argv[6], &a, &la) || !arg_i32(env, argv[7], &sa) ||
      !arg_f32(env, argv[8], &b, &lb) || !arg_i32(env, argv[9], &sb) || !arg_f32(env, argv[10], &c, &lc))
    return NULL;
  if (!check(env, batch >= 0 && m >= 0 && n >= 0 && k >= 0 && sa >= 0 && sb >= 0, "negative size")) return NULL;
  if (!check(env, (size_t)batch * m * n <= lc && (batch == 0 || ((size_t)(batch - 1) * sa + (size_t)m * k <= la && (size_t)(batch - 1) * sb + (size_t)k * n <= lb)),
             "sgemm: arrays too small for the sizes given"))
    return NULL;
  if (k == 0) {
    memset(c, 0, (size_t)batch * m * n * sizeof(float));
    return NULL;
  }
  for (int32_t i = 0; i < batch; i++) gemm(ta, tb, m, n, k, a + (size_t)i * sa, b + (size_t)i * sb, c + (size_t)i * m * n);
  return NULL;
}

/* ---- elementwise ---- */

enum { ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_LEAKY, ACT_STEP, ACT_SQRT, ACT_SQUARE, ACT_NEG, ACT_ABS, ACT_EXP, ACT_LOG, ACT_RSQRT, ACT_SIGMOID, ACT_RECIPROCAL };

static inline float unary_op(int op, float x, float alpha) {
  switch (op) {
    case ACT_RELU: return isnan(x) ? x : (x < 0 ? 0 : x);
    case ACT_RELU6: return isnan(x) ? x : (x < 0 ? 0 : (x > 6 ? 6 : x));
    case ACT_LEAKY: return x < 0 ? alpha * x : x;
    case ACT_STEP: return isnan(x) ? x : (x > 0 ? 1 : alpha);
    case ACT_SQRT: return (float)sqrt((double)x);
    case ACT_SQUARE: return x * x;
    case ACT_NEG: return -x;
    case ACT_ABS: return fabsf(x);
    case ACT_EXP: return (float)exp((double)x);
    case ACT_LOG: return (float)log((double)x);
    case ACT_RSQRT: return (float)(1.0 / sqrt((double)x));
    case ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
    case ACT_RECIPROCAL: return (float)(1.0 / (double)x);
    default: return x;
  }
}

/* unary(op, x, out, alpha): out[i] = op(x[i]); out may be x. */
static napi_value unary(napi_env env, napi_callback_info info) {
  ARGS(4);
  int32_t op;
  double alpha;
  float *x, *out;
  size_t lx, lo;
  if (!arg_i32(env, argv[0], &op) || !arg_f32(env, argv[1], &x, &lx) || !arg_f32(env, argv[2], &out, &lo) || !arg_f64(env, argv[3], &alpha)) return NULL;
  if (!check(env, lo >= lx, "unary: output too small")) return NULL;
  const float a = (float)alpha;
  for (size_t i = 0; i < lx; i++) out[i] = unary_op(op, x[i], a);
  return NULL;
}

/*
 * biasAct(c, rows, cols, bias | null, op, alpha): c[r, j] = op(c[r, j] + bias[j]) in place, the
 * epilogue of a fused matmul.
 */
static napi_value bias_act(napi_env env, napi_callback_info info) {
  ARGS(6);
  int32_t rows, cols, op;
  double alpha;
  float *c, *bias = NULL;
  size_t lc, lb = 0;
  napi_valuetype bt;
  if (!arg_f32(env, argv[0], &c, &lc) || !arg_i32(env, argv[1], &rows) || !arg_i32(env, argv[2], &cols) || !arg_i32(env, argv[4], &op) ||
      !arg_f64(env, argv[5], &alpha))
    return NULL;
  napi_typeof(env, argv[3], &bt);
  if (bt != napi_null && bt != napi_undefined && !arg_f32(env, argv[3], &bias, &lb)) return NULL;
  if (!check(env, rows >= 0 && cols >= 0 && (size_t)rows * cols <= lc && (!bias || lb == (size_t)cols), "biasAct: bad sizes")) return NULL;
  const float a = (float)alpha;
  for (int32_t r = 0; r < rows; r++) {
    float *row = c + (size_t)r * cols;
    if (bias)
      for (int32_t j = 0; j < cols; j++) row[j] += bias[j];
    if (op != ACT_LINEAR)
      for (int32_t j = 0; j < cols; j++) row[j] = unary_op(op, row[j], a);
  }
  return NULL;
}

enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_MAX, BIN_MIN, BIN_SQDIFF };

#define INNER(expr)                                                          \
  for (int64_t j = 0; j < len; j++, pa += da, pb += db) out[o++] = (expr);

/*
 * binary(op, a, aStrides, b, bStrides, out, outShape): out = a op b with numpy broadcasting;
 * the strides are per output dimension, 0 where an operand is broadcast.
 */
static napi_value binary(napi_env env, napi_callback_info info) {
  ARGS(7);
  int32_t op, sa[MAX_RANK], sb[MAX_RANK], shape[MAX_RANK];
  size_t ra, rb, rank, la, lb, lo;
  float *a, *b, *out;
  if (!arg_i32(env, argv[0], &op) || !arg_f32(env, argv[1], &a, &la) || !arg_ints(env, argv[2], sa, MAX_RANK, &ra) || !arg_f32(env, argv[3], &b, &lb) ||
      !arg_ints(env, argv[4], sb, MAX_RANK, &rb) || !arg_f32(env, argv[5], &out, &lo) || !arg_ints(env, argv[6], shape, MAX_RANK, &rank))
    return NULL;
  if (!check(env, ra == rank && rb == rank, "binary: strides and shape differ in rank")) return NULL;
  size_t total = 1, maxa = 0, maxb = 0;
  for (size_t d = 0; d < rank; d++) {
    if (!check(env, shape[d] >= 0 && sa[d] >= 0 && sb[d] >= 0, "binary: negative size")) return NULL;
    total *= (size_t)shape[d];
    if (shape[d] > 0) {
      maxa += (size_t)sa[d] * (shape[d] - 1);
      maxb += (size_t)sb[d] * (shape[d] - 1);
    }
  }
  if (!check(env, total <= lo && (total == 0 || (maxa < la && maxb < lb)), "binary: arrays too small for the shape")) return NULL;
  if (total == 0) return NULL;
  const int64_t len = rank ? shape[rank - 1] : 1;
  const int64_t da = rank ? sa[rank - 1] : 0, db = rank ? sb[rank - 1] : 0;
  int64_t idx[MAX_RANK] = {0};
  size_t o = 0;
  while (o < total) {
    int64_t offa = 0, offb = 0;
    for (size_t d = 0; d + 1 < rank; d++) {
      offa += idx[d] * sa[d];
      offb += idx[d] * sb[d];
    }
    const float *pa = a + offa, *pb = b + offb;
    switch (op) {
      case BIN_ADD: INNER(*pa + *pb) break;
      case BIN_SUB: INNER(*pa - *pb) break;
      case BIN_MUL: INNER(*pa * *pb) break;
      case BIN_DIV: INNER(*pa / *pb) break;
      case BIN_MAX: INNER(isnan(*pa) || isnan(*pb) ? NAN : (*pa > *pb ? *pa : *pb)) break;
      case BIN_MIN: INNER(isnan(*pa) || isnan(*pb) ? NAN : (*pa < *pb ? *pa : *pb)) break;
      case BIN_SQDIFF: INNER((*pa - *pb) * (*pa - *pb)) break;
      default: napi_throw_range_error(env, NULL, "binary: unknown op"); return NULL;
    }
    for (int64_t d = (int64_t)rank - 2; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return NULL;
}

/* ---- reductions ---- */

enum { RED_SUM, RED_MAX, RED_MIN };

/*
 * reduce(op, x, outer, size, inner, out): out[o, i] = op over r of x[o, r, i] (x seen as
 * outer × size × inner), accumulated in double in index order, as the cpu backend does.
 */
static napi_value reduce(napi_env env, napi_callback_info info) {
  ARGS(6);
  int32_t op, outer, size, inner;
  float *x, *out;
  size_t lx, lo;
  if (!arg_i32(env, argv[0], &op) || !arg_f32(env, argv[1], &x, &lx) || !arg_i32(env, argv[2], &outer) || !arg_i32(env, argv[3], &size) ||
      !arg_i32(env, argv[4], &inner) || !arg_f32(env, argv[5], &out, &lo))
    return NULL;
  if (!check(env, outer >= 0 && size >= 0 && inner >= 0 && (size_t)outer * size * inner <= lx && (size_t)outer * inner <= lo, "reduce: bad sizes")) return NULL;
  if (op == RED_SUM) {
    /* Rows of the reduced axis are added one after the other (contiguous reads), into a
       double accumulator per output value. */
    double acc[256];
    for (int32_t o = 0; o < outer; o++) {
      for (int32_t i0 = 0; i0 < inner; i0 += 256) {
        const int32_t w = inner - i0 < 256 ? inner - i0 : 256;
        for (int32_t i = 0; i < w; i++) acc[i] = 0;
        for (int32_t r = 0; r < size; r++) {
          const float *row = x + ((size_t)o * size + r) * inner + i0;
          for (int32_t i = 0; i < w; i++) acc[i] += row[i];
        }
        for (int32_t i = 0; i < w; i++) out[(size_t)o * inner + i0 + i] = (float)acc[i];
      }
    }
    return NULL;
  }
  for (int32_t o = 0; o < outer; o++) {
    for (int32_t i = 0; i < inner; i++) {
      const float *p = x + (size_t)o * size * inner + i;
      float best = size ? p[0] : (op == RED_MAX ? -INFINITY : INFINITY);
      for (int32_t r = 1; r < size; r++) {
        const float v = p[(size_t)r * inner];
        if (isnan(v) || (op == RED_MAX ? v > best : v < best)) best = v;
      }
      out[(size_t)o * inner + i] = best;
    }
  }
  return NULL;
}

/* ---- input scaling ---- */

/*
 * scaleRows(src, rows: Int32Array, width, mean, std, out, outStride, outOffset):
 * out[r*outStride + outOffset + j] = (float)((src[rows[r]*width + j] - mean) / std) in double,
 * the train stage's per-block standardisation as JavaScript computes it (a double subtraction
 * and division, rounded to float32 on the store). Registered without the flush mode (see
 * init): with IEEE subnormals, its bits equal the JavaScript path's on every backend.
 */
static napi_value scale_rows(napi_env env, napi_callback_info info) {
  ARGS(8);
  float *src, *out;
  size_t ls, lo, lr, off;
  int32_t width, stride, offset, *rows;
  double mean, sd;
  napi_typedarray_type type;
  napi_value buf;
  void *raw;
  if (!arg_f32(env, argv[0], &src, &ls)) return NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &lr, &raw, &buf, &off) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "scaleRows: rows must be an Int32Array");
    return NULL;
  }
  rows = raw;
  if (!arg_i32(env, argv[2], &width) || !arg_f64(env, argv[3], &mean) || !arg_f64(env, argv[4], &sd) || !arg_f32(env, argv[5], &out, &lo) ||
      !arg_i32(env, argv[6], &stride) || !arg_i32(env, argv[7], &offset))
    return NULL;
  if (!check(env, width >= 0 && stride >= 0 && offset >= 0 && (lr == 0 || (size_t)(lr - 1) * stride + offset + width <= lo), "scaleRows: output too small"))
    return NULL;
  for (size_t r = 0; r < lr; r++)
    if (!check(env, rows[r] >= 0 && ((size_t)rows[r] + 1) * width <= ls, "scaleRows: row index out of range")) return NULL;
  for (size_t r = 0; r < lr; r++) {
    const float *from = src + (size_t)rows[r] * width;
    float *to = out + r * stride + offset;
    for (int32_t j = 0; j < width; j++) to[j] = (float)(((double)from[j] - mean) / sd);
  }
  return NULL;
}

/* ---- optimizer ---- */

/*
 * adam(value, m, v, grad, outValue, outM, outV, beta1, beta2, oneMinusAccBeta1,
 * oneMinusAccBeta2, epsilon, lr): one Adam step in one pass, with the same float32 operations
 * in the same order as tfjs's AdamOptimizer.applyGradients (each of its ops rounds to float32),
 * so the result equals what its dozen elementwise kernels would give.
 */
static napi_value adam(napi_env env, napi_callback_info info) {
  ARGS(13);
  float *val, *m, *v, *g, *ov, *om, *ovv;
  size_t l0, l1, l2, l3, l4, l5, l6;
  double b1, b2, c1, c2, eps, lr;
  if (!arg_f32(env, argv[0], &val, &l0) || !arg_f32(env, argv[1], &m, &l1) || !arg_f32(env, argv[2], &v, &l2) || !arg_f32(env, argv[3], &g, &l3) ||
      !arg_f32(env, argv[4], &ov, &l4) || !arg_f32(env, argv[5], &om, &l5) || !arg_f32(env, argv[6], &ovv, &l6) || !arg_f64(env, argv[7], &b1) ||
      !arg_f64(env, argv[8], &b2) || !arg_f64(env, argv[9], &c1) || !arg_f64(env, argv[10], &c2) || !arg_f64(env, argv[11], &eps) ||
      !arg_f64(env, argv[12], &lr))
    return NULL;
  if (!check(env, l1 == l0 && l2 == l0 && l3 == l0 && l4 == l0 && l5 == l0 && l6 == l0, "adam: arrays of different sizes")) return NULL;
  const float beta1 = (float)b1, beta2 = (float)b2, k1 = (float)(1 - b1), k2 = (float)(1 - b2);
  const float acc1 = (float)c1, acc2 = (float)c2, epsf = (float)eps, step = (float)(-lr);
  for (size_t i = 0; i < l0; i++) {
    const float gi = g[i];
    const float nm = m[i] * beta1 + gi * k1;
    const float nv = v[i] * beta2 + (gi * gi) * k2;
    const float mh = nm / acc1, vh = nv / acc2;
    om[i] = nm;
    ovv[i] = nv;
    ov[i] = (mh / (sqrtf(vh) + epsf)) * step + val[i]; /* sqrtf is exact: equals JS's Math.sqrt rounded to float32 */
  }
  return NULL;
}

/* ---- BLAS threads and identity ---- */

static napi_value set_blas_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t n;
  if (!arg_i32(env, argv[0], &n)) return NULL;
  if (!check(env, n >= 1, "threads must be at least 1")) return NULL;
  max_threads = n > MAX_THREADS ? MAX_THREADS : n;
  return NULL;
}

static napi_value get_blas_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, max_threads, &v);
  return v;
}

/* ---- identity: which GEMM, and the arithmetic a stage key names ---- */

#ifdef PARAMFLOW_OPENBLAS
#define ARITHMETIC "openblas"
static const char *kernel_name(void) { return "openblas"; }
#else
#define ARITHMETIC "fma-k-order-ftz-1"
static const char *kernel_name(void) { return gemm_kernel_name(); }
#endif

static napi_value make_string(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* A description for people: the GEMM and its kernel (OpenBLAS: its own build string). */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef PARAMFLOW_OPENBLAS
  char text[256];
  snprintf(text, sizeof text, "%s (core %s)", openblas_get_config(), openblas_get_corename());
  return make_string(env, text);
#else
  char text[96];
  snprintf(text, sizeof text, "paramflow GEMM, %s kernel", gemm_kernel_name());
  return make_string(env, text);
#endif
}

static napi_value arithmetic(napi_env env, napi_callback_info info) {
  (void)info;
  return make_string(env, ARITHMETIC);
}

static napi_value get_kernel(napi_env env, napi_callback_info info) {
  (void)info;
  return make_string(env, kernel_name());
}

/* gemmKernels() → the kernels this CPU runs, widest first. */
static napi_value list_kernels(napi_env env, napi_callback_info info) {
  (void)info;
  const char *names[8];
  int count = 0;
#ifdef PARAMFLOW_OPENBLAS
  names[count++] = "openblas";
#else
  gemm_kernel_names(names, &count);
#endif
  napi_value arr;
  napi_create_array_with_length(env, (size_t)count, &arr);
  for (int i = 0; i < count; i++) napi_set_element(env, arr, (uint32_t)i, make_string(env, names[i]));
  return arr;
}

/* The kernel named by PARAMFLOW_GEMM_KERNEL (or the widest), or 0 with a message. */
static int choose_kernel(const char *name, char *why, size_t size) {
#ifdef PARAMFLOW_OPENBLAS
  if (!name || !*name || strcmp(name, "openblas") == 0) return 1;
  snprintf(why, size, "this addon was built with PARAMFLOW_BLAS=openblas: its only GEMM kernel is openblas, not %s", name);
  return 0;
#else
  if (gemm_select(name && *name ? name : NULL)) return 1;
  const char *names[8];
  int count = 0, used = 0;
  gemm_kernel_names(names, &count);
  used = snprintf(why, size, "GEMM kernel %s cannot run on this CPU (it runs:", name);
  for (int i = 0; i < count && used < (int)size; i++) used += snprintf(why + used, size - used, " %s", names[i]);
  if (used < (int)size) snprintf(why + used, size - used, ")");
  return 0;
#endif
}

/* setGemmKernel(name): for tests and the bench; the same bits with every kernel. */
static napi_value set_kernel(napi_env env, napi_callback_info info) {
  ARGS(1);
  char name[32], why[256];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a kernel name");
    return NULL;
  }
  if (!choose_kernel(name, why, sizeof why)) napi_throw_range_error(env, NULL, why);
  return NULL;
}

/* Test hook: x · y in float32 under the addon's floating-point mode (a subnormal product → 0). */
static napi_value multiply(napi_env env, napi_callback_info info) {
  ARGS(2);
  double x, y;
  if (!arg_f64(env, argv[0], &x) || !arg_f64(env, argv[1], &y)) return NULL;
  volatile float fx = (float)x, fy = (float)y;
  napi_value v;
  napi_create_double(env, (double)(fx * fy), &v);
  return v;
}

#define EXPORT(name, fn) {name, NULL, flushed_call, NULL, NULL, NULL, napi_default, (void *)(fn)}

static napi_value init(napi_env env, napi_value exports) {
#ifdef PARAMFLOW_OPENBLAS
  openblas_set_num_threads(1); /* see "Threads" above */
#endif
  char why[256];
  if (!choose_kernel(getenv("PARAMFLOW_GEMM_KERNEL"), why, sizeof why)) {
    char message[300];
    snprintf(message, sizeof message, "PARAMFLOW_GEMM_KERNEL: %s", why);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
#ifdef __GLIBC__
  /* Every kernel returns a fresh array (tfjs tensors are immutable), and glibc serves arrays
     over 128 KiB with mmap: each step then page-faults through new memory, slower than the
     kernel itself for a 1M-weight Adam step. Keep such blocks in the heap for reuse. */
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  napi_property_descriptor props[] = {
      EXPORT("sgemm", sgemm),
      EXPORT("unary", unary),
      EXPORT("biasAct", bias_act),
      EXPORT("binary", binary),
      EXPORT("reduce", reduce),
      EXPORT("adam", adam),
      EXPORT("mlpCreate", mlp_create),
      EXPORT("mlpStep", mlp_step),
      EXPORT("mlpPredict", mlp_predict),
      EXPORT("setThreads", set_blas_threads),
      EXPORT("getThreads", get_blas_threads),
      EXPORT("blas", blas_info),
      EXPORT("arithmetic", arithmetic),
      EXPORT("gemmKernel", get_kernel),
      EXPORT("gemmKernels", list_kernels),
      EXPORT("setGemmKernel", set_kernel),
      EXPORT("multiply", multiply),
      /* Not flushed: its bits must equal the JavaScript path's (see scale_rows). */
      {"scaleRows", NULL, scale_rows, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
