/*
 * The `native` TensorFlow.js backend's kernels (src/backend/native/): products, element-wise
 * operations, reductions, input scaling and Adam, in place on the Float32Arrays the JS side owns.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "boundary.h" /* MAX_RANK and the unary, binary and reduce codes, from native/boundary.json */
#include "paramflow_native.h"


/* ---- matmul ---- */

/*
 * sgemm(transA, transB, batch, M, N, K, A, aBatchStride, B, bBatchStride, C): for each batch i,
 * C[i] (M×N) = op(A[i]) · op(B[i]), row-major; a batch stride of 0 broadcasts that operand.
 */
napi_value sgemm(napi_env env, napi_callback_info info) {
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


static inline float unary_op(int op, float x, float alpha) {
  switch (op) {
    case ACT_RELU: return isnan(x) ? x : (x < 0 ? 0 : x);
    case ACT_RELU6: return isnan(x) ? x : (x < 0 ? 0 : (x > 6 ? 6 : x));
    case ACT_LEAKYRELU: return x < 0 ? alpha * x : x;
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
napi_value unary(napi_env env, napi_callback_info info) {
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
napi_value bias_act(napi_env env, napi_callback_info info) {
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


#define INNER(expr)                                                          \
  for (int64_t j = 0; j < len; j++, pa += da, pb += db) out[o++] = (expr);

/*
 * binary(op, a, aStrides, b, bStrides, out, outShape): out = a op b with numpy broadcasting;
 * the strides are per output dimension, 0 where an operand is broadcast.
 */
napi_value binary(napi_env env, napi_callback_info info) {
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


/*
 * reduce(op, x, outer, size, inner, out): out[o, i] = op over r of x[o, r, i] (x seen as
 * outer × size × inner), accumulated in double in index order, as the cpu backend does.
 */
napi_value reduce(napi_env env, napi_callback_info info) {
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
napi_value scale_rows(napi_env env, napi_callback_info info) {
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
napi_value adam(napi_env env, napi_callback_info info) {
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
