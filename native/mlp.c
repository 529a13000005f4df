/*
 * The fused MLP trainer: one training step of a Sequential stack of dense, batch-norm, dropout
 * and activation layers (forward, loss, backward, optimizer update) in one call, on the
 * Float32Arrays tfjs already holds for the model's variables and the optimizer's state, so
 * tfjs's engine, tape and tfjs-layers are out of the loop (stages/train/fused.ts drives it).
 *
 * Every formula follows what tfjs-layers 4.22 and tfjs-core compute for the same model (read
 * their sources): losses as tfjs-layers/tf.losses reduce them (mean over every value),
 * BatchNormalization with biased batch variance and moving statistics updated as
 * m - (m - batch) * (1 - momentum), dropout scaling kept values by 1 / (1 - rate), L1L2 kernel
 * penalties, and the optimizers' float32 update formulas operation by operation. Loops run in a
 * fixed order (sums in double) and gemm splits by output rows, so a step's result depends only
 * on its inputs: bit-identical from one run to the next, on any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mlp.h"
#include "paramflow_native.h"

/* Zeroed floats; a failed allocation is counted in *failed (mlpCreate then throws, freeing the rest). */
static void *zalloc(size_t floats, int *failed) {
  void *p = calloc(floats ? floats : 1, sizeof(float));
  if (!p) *failed = 1;
  return p;
}

static void plan_free(plan *p) {
  if (!p) return;
  for (int i = 0; i < p->n; i++) {
    layer *l = &p->L[i];
    if (l->z != l->y) free(l->z);
    free(l->y); free(l->xhat); free(l->mask); free(l->mean); free(l->var); free(l->invstd);
  }
  if (p->grad)
    for (int i = 0; i < p->trainable; i++) free(p->grad[i]);
  free(p->acc); free(p->grad); free(p->plen); free(p->x); free(p->t); free(p->g0); free(p->g1);
  free(p);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  plan_free((plan *)data);
}

/*
 * mlpCreate(layers: Float64Array (STRIDE numbers a layer), inputs, maxRows) → plan. A layer:
 * dense [0, units, act, useBias, l1, l2]; batch norm [1, 0, 0, 0, momentum, epsilon, center,
 * scale]; dropout [2, 0, 0, 0, rate]; activation [3, 0, act].
 */
napi_value mlp_create(napi_env env, napi_callback_info info) {
  ARGS(3);
  napi_typedarray_type type;
  size_t len, off;
  void *raw;
  napi_value buf;
  int32_t inputs, max_rows;
  if (napi_get_typedarray_info(env, argv[0], &type, &len, &raw, &buf, &off) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "expected a Float64Array");
    return NULL;
  }
  if (!arg_i32(env, argv[1], &inputs) || !arg_i32(env, argv[2], &max_rows)) return NULL;
  const double *d = raw;
  const int n = (int)(len / STRIDE);
  if (!check(env, len % STRIDE == 0 && n >= 1 && n <= MAX_LAYERS && inputs >= 1 && max_rows >= 1, "mlpCreate: bad description")) return NULL;
  plan *p = calloc(1, sizeof(plan));
  if (!p) {
    napi_throw_error(env, NULL, "mlpCreate: out of memory");
    return NULL;
  }
  int failed = 0;
  p->n = n;
  p->inputs = inputs;
  p->max_rows = max_rows;
  int width = inputs, maxw = inputs, params = 0, trainable = 0;
  size_t plen[4 * MAX_LAYERS];
  for (int i = 0; i < n; i++) {
    const double *s = d + i * STRIDE;
    layer *l = &p->L[i];
    l->kind = (int)s[0];
    l->in = width;
    l->out = l->kind == L_DENSE ? (int)s[1] : width;
    l->act = (int)s[2];
    l->first_param = trainable;
    if (l->out < 1 || l->kind < L_DENSE || l->kind > L_ACTIVATION || l->act < A_LINEAR || l->act > A_SOFTPLUS) {
      plan_free(p);
      napi_throw_range_error(env, NULL, "mlpCreate: bad layer");
      return NULL;
    }
    const size_t cells = (size_t)max_rows * l->out;
    if (l->kind == L_DENSE) {
      l->bias = s[3] != 0;
      l->l1 = (float)s[4];
      l->l2 = (float)s[5];
      plen[trainable++] = (size_t)l->in * l->out;
      if (l->bias) plen[trainable++] = l->out;
      params += 1 + l->bias;
      l->z = zalloc(cells, &failed);
      l->y = l->act == A_LINEAR ? l->z : zalloc(cells, &failed);
    } else if (l->kind == L_BATCH_NORM) {
      l->momentum = (float)s[4];
      l->eps = (float)s[5];
      l->center = s[6] != 0;
      l->scale = s[7] != 0;
      if (l->scale) plen[trainable++] = l->out;
      if (l->center) plen[trainable++] = l->out;
      params += l->scale + l->center + 2;
      l->xhat = zalloc(cells, &failed);
      l->y = zalloc(cells, &failed);
      l->mean = zalloc(l->out, &failed);
      l->var = zalloc(l->out, &failed);
      l->invstd = zalloc(l->out, &failed);
    } else if (l->kind == L_DROPOUT) {
      l->rate = (float)s[4];
      l->mask = zalloc(cells, &failed);
      l->y = zalloc(cells, &failed);
    } else {
      l->z = zalloc(cells, &failed);
      l->y = zalloc(cells, &failed);
    }
    width = l->out;
    if (width > maxw) maxw = width;
  }
  p->max_width = maxw;
  p->params = params;
  p->trainable = trainable;
  p->grad = calloc(trainable ? trainable : 1, sizeof(float *));
  p->plen = calloc(trainable ? trainable : 1, sizeof(size_t));
  for (int i = 0; p->grad && p->plen && i < trainable; i++) {
    p->plen[i] = plen[i];
    p->grad[i] = zalloc(plen[i], &failed);
  }
  p->x = zalloc((size_t)max_rows * inputs, &failed);
  p->t = zalloc((size_t)max_rows * width, &failed);
  p->g0 = zalloc((size_t)max_rows * maxw, &failed);
  p->g1 = zalloc((size_t)max_rows * maxw, &failed);
  p->acc = calloc(2 * (size_t)maxw, sizeof(double));
  if (failed || !p->grad || !p->plen || !p->acc) {
    plan_free(p);
    napi_throw_error(env, NULL, "mlpCreate: out of memory for the model's work arrays");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, p, finalize, NULL, &ext) != napi_ok) {
    plan_free(p);
    return NULL;
  }
  return ext;
}

/* ---- the step ---- */

/* A step's parameters by layer (dense kernel and bias; batch norm gamma, beta, moving stats). */
typedef struct {
  float *W[MAX_LAYERS], *B[MAX_LAYERS], *MM[MAX_LAYERS], *MV[MAX_LAYERS];
  int dropouts;
} layer_params;

/* Binds params (in mlpStep's order) to the plan's layers, checking each size; 0 with a RangeError if one differs. */
static int bind_params(napi_env env, const plan *p, float **params, const size_t *lparams, layer_params *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0, pi = 0; i < p->n; i++) {
    const layer *l = &p->L[i];
    int ok = 1;
    if (l->kind == L_DENSE) {
      out->W[i] = params[pi];
      ok = lparams[pi++] == (size_t)l->in * l->out;
      if (l->bias) { out->B[i] = params[pi]; ok = ok && lparams[pi++] == (size_t)l->out; }
    } else if (l->kind == L_BATCH_NORM) {
      if (l->scale) { out->W[i] = params[pi]; ok = ok && lparams[pi++] == (size_t)l->out; }
      if (l->center) { out->B[i] = params[pi]; ok = ok && lparams[pi++] == (size_t)l->out; }
      out->MM[i] = params[pi]; ok = ok && lparams[pi++] == (size_t)l->out;
      out->MV[i] = params[pi]; ok = ok && lparams[pi++] == (size_t)l->out;
    } else if (l->kind == L_DROPOUT) {
      out->dropouts++;
    }
    if (!check(env, ok, "mlp: a parameter's size does not match its layer")) return 0;
  }
  return 1;
}

static int get_f32_list(napi_env env, napi_value arr, float **out, size_t *lens, uint32_t want, const char *what) {
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok || n != want) {
    napi_throw_range_error(env, NULL, what);
    return 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    if (!arg_f32(env, v, &out[i], &lens[i])) return 0;
  }
  return 1;
}

/*
 * mlpStep(plan, x, t, order: Int32Array, start, rows, params: Float32Array[], state:
 * Float32Array[], hyper: Float64Array, seeds: Float64Array) → loss. Trains on rows
 * order[start .. start + rows) of x (N × inputs) and t (N × k). params: per layer, dense kernel
 * [+ bias], batch norm [gamma] [beta] movingMean movingVariance. state: per trainable parameter,
 * the optimizer's arrays (adam m, v; momentum accumulation; rmsprop mean square, moment).
 * hyper: [optimizer, lr, a, b, c, d, e, loss, huberDelta] (adam: a, b = beta1, beta2, c = epsilon,
 * d, e = 1 - beta^t; momentum: a = momentum; rmsprop: a = decay, b = momentum, c = epsilon).
 * seeds: one per dropout layer. Returns the loss with the kernel penalties, before the update.
 */
napi_value mlp_step(napi_env env, napi_callback_info info) {
  ARGS(10);
  plan *p;
  float *x, *t, *params[4 * MAX_LAYERS], *state[8 * MAX_LAYERS];
  size_t lx, lt, lparams[4 * MAX_LAYERS], lstate[8 * MAX_LAYERS];
  int32_t start, rows, *order;
  napi_typedarray_type type;
  size_t lorder, lh, ls, off;
  void *raw;
  napi_value buf;
  double *hv, *seeds;
  if (napi_get_value_external(env, argv[0], (void **)&p) != napi_ok) {
    napi_throw_type_error(env, NULL, "mlpStep: expected a plan");
    return NULL;
  }
  if (!arg_f32(env, argv[1], &x, &lx) || !arg_f32(env, argv[2], &t, &lt)) return NULL;
  if (napi_get_typedarray_info(env, argv[3], &type, &lorder, &raw, &buf, &off) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "mlpStep: order must be an Int32Array");
    return NULL;
  }
  order = raw;
  if (!arg_i32(env, argv[4], &start) || !arg_i32(env, argv[5], &rows)) return NULL;
  if (napi_get_typedarray_info(env, argv[8], &type, &lh, &raw, &buf, &off) != napi_ok || type != napi_float64_array || lh < HYPER_LENGTH) {
    napi_throw_type_error(env, NULL, "mlpStep: hyper is too short (native/boundary.json lists its numbers)");
    return NULL;
  }
  hv = raw;
  if (napi_get_typedarray_info(env, argv[9], &type, &ls, &raw, &buf, &off) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "mlpStep: seeds must be a Float64Array");
    return NULL;
  }
  seeds = raw;
  const hyper h = {(int)hv[H_OPTIMIZER], (int)hv[H_LOSS], hv[H_LR], hv[H_A], hv[H_B], hv[H_C], hv[H_D], hv[H_E], hv[H_HUBER_DELTA]};
  const int slots = h.opt == O_SGD ? 0 : h.opt == O_MOMENTUM ? 1 : 2;
  if (!get_f32_list(env, argv[6], params, lparams, (uint32_t)p->params, "mlpStep: wrong number of parameters")) return NULL;
  if (!get_f32_list(env, argv[7], state, lstate, (uint32_t)(slots * p->trainable), "mlpStep: wrong number of optimizer arrays")) return NULL;
  const int k = p->L[p->n - 1].out;
  const size_t samples = lx / p->inputs;
  if (!check(env, rows >= 1 && rows <= p->max_rows && start >= 0 && (size_t)start + rows <= lorder && lt == samples * k && lx == samples * p->inputs, "mlpStep: bad sizes"))
    return NULL;
  for (int i = 0; i < rows; i++)
    if (!check(env, order[start + i] >= 0 && (size_t)order[start + i] < samples, "mlpStep: row index out of range")) return NULL;

  /* Parameters by layer, checked against the layer sizes. */
  layer_params lp;
  if (!bind_params(env, p, params, lparams, &lp)) return NULL;
  float **W = lp.W, **B = lp.B, **MM = lp.MM, **MV = lp.MV;
  const int dropouts = lp.dropouts;
  for (int i = 0; i < slots * p->trainable; i++)
    if (!check(env, lstate[i] == p->plen[i / slots], "mlpStep: an optimizer array's size does not match its parameter")) return NULL;
  if (!check(env, ls >= (size_t)dropouts, "mlpStep: one seed per dropout layer")) return NULL;

  /* Gather the batch. */
  for (int r = 0; r < rows; r++) {
    memcpy(p->x + (size_t)r * p->inputs, x + (size_t)order[start + r] * p->inputs, p->inputs * sizeof(float));
    memcpy(p->t + (size_t)r * k, t + (size_t)order[start + r] * k, k * sizeof(float));
  }

  /* Forward. */
  double penalty = 0;
  const float *in = p->x;
  int di = 0;
  for (int i = 0; i < p->n; i++) {
    layer *l = &p->L[i];
    const size_t cells = (size_t)rows * l->out;
    if (l->kind == L_DENSE) {
      dense_forward(l, rows, in, W[i], B[i]);
      if (l->l1 != 0 || l->l2 != 0) {
        double s1 = 0, s2 = 0;
        for (size_t q = 0; q < (size_t)l->in * l->out; q++) {
          s1 += fabsf(W[i][q]);
          s2 += (double)W[i][q] * W[i][q];
        }
        penalty += (double)l->l1 * s1 + (double)l->l2 * s2;
      }
    } else if (l->kind == L_BATCH_NORM) {
      bn_forward(l, in, rows, W[i], B[i], MM[i], MV[i], p->acc);
    } else if (l->kind == L_DROPOUT) {
      uint64_t s = (uint64_t)seeds[di++];
      const float keep = (float)(1.0 - (double)l->rate), scale = 1.0f / keep;
      for (size_t q = 0; q < cells; q++) {
        const float u = (float)(splitmix(&s) >> 40) * (1.0f / 16777216.0f);
        l->mask[q] = l->rate > 0 && u < l->rate ? 0.0f : (l->rate > 0 ? scale : 1.0f);
        l->y[q] = in[q] * l->mask[q];
      }
    } else {
      memcpy(l->z, in, cells * sizeof(float));
      activate(l->act, l->z, l->y, cells);
    }
    in = l->y;
  }
  const double loss = loss_and_grad(&h, in, p->t, p->g0, (size_t)rows * k) + penalty;

  /* Backward: g = dL/d(output of layer i); layers before the first with parameters need none. */
  int first = p->n;
  for (int i = 0; i < p->n; i++)
    if (p->L[i].kind == L_DENSE || (p->L[i].kind == L_BATCH_NORM && (p->L[i].scale || p->L[i].center))) {
      first = i;
      break;
    }
  float *g = p->g0, *gn = p->g1;
  for (int i = p->n - 1; i >= first; i--) {
    layer *l = &p->L[i];
    const float *lin = i == 0 ? p->x : p->L[i - 1].y;
    const size_t cells = (size_t)rows * l->out;
    const int need_dx = i > first;
    if (l->kind == L_DENSE) {
      activate_back(l->act, g, l->z, l->y, cells);
      float *dw = p->grad[l->first_param];
      gemm(1, 0, l->in, l->out, rows, lin, g, dw);
      if (l->l1 != 0 || l->l2 != 0)
        for (size_t q = 0; q < (size_t)l->in * l->out; q++) {
          const float w = W[i][q], sign = w > 0 ? 1.0f : w < 0 ? -1.0f : 0.0f;
          dw[q] = dw[q] + (l->l1 * sign + l->l2 * (2 * w));
        }
      if (B[i]) {
        float *db = p->grad[l->first_param + 1];
        for (int j = 0; j < l->out; j++) p->acc[j] = 0;
        for (int r = 0; r < rows; r++)
          for (int j = 0; j < l->out; j++) p->acc[j] += g[(size_t)r * l->out + j];
        for (int j = 0; j < l->out; j++) db[j] = (float)p->acc[j];
      }
      if (need_dx) {
        gemm(0, 1, rows, l->in, l->out, g, W[i], gn);
        float *tmp = g; g = gn; gn = tmp;
      }
    } else if (l->kind == L_BATCH_NORM) {
      float *dgamma = l->scale ? p->grad[l->first_param] : NULL;
      float *dbeta = l->center ? p->grad[l->first_param + l->scale] : NULL;
      bn_backward(l, g, g, rows, W[i], dgamma, dbeta, need_dx, p->acc);
    } else if (l->kind == L_DROPOUT) {
      for (size_t q = 0; q < cells; q++) g[q] = g[q] * l->mask[q];
    } else {
      activate_back(l->act, g, l->z, l->y, cells);
    }
  }

  /* Update, parameter by parameter (every gradient is computed from the old weights first). */
  for (int i = 0, q = 0; i < p->n; i++) {
    layer *l = &p->L[i];
    float *ws[2] = {0};
    int m = 0;
    if (l->kind == L_DENSE) { ws[m++] = W[i]; if (l->bias) ws[m++] = B[i]; }
    else if (l->kind == L_BATCH_NORM) { if (l->scale) ws[m++] = W[i]; if (l->center) ws[m++] = B[i]; }
    for (int j = 0; j < m; j++, q++)
      update(&h, ws[j], p->grad[q], slots > 0 ? state[q * slots] : NULL, slots > 1 ? state[q * slots + 1] : NULL, p->plen[q]);
  }
  napi_value out;
  napi_create_double(env, loss, &out);
  return out;
}

/*
 * mlpPredict(plan, x, rows, params: Float32Array[], out): the model's output for rows × inputs
 * of x in inference mode (dropout passes values through), in chunks of the plan's largest
 * batch, into out (rows × outputs). The same operations as tfjs's native backend computes for
 * the same dense layers (product, then bias, then activation), so the same bits. Models with
 * batch norm or activations other than relu and linear are refused (false): tfjs predicts those.
 */
napi_value mlp_predict(napi_env env, napi_callback_info info) {
  ARGS(5);
  plan *p;
  float *x, *out, *params[4 * MAX_LAYERS];
  size_t lx, lo, lparams[4 * MAX_LAYERS];
  int32_t rows;
  napi_value result;
  if (napi_get_value_external(env, argv[0], (void **)&p) != napi_ok) {
    napi_throw_type_error(env, NULL, "mlpPredict: expected a plan");
    return NULL;
  }
  if (!arg_f32(env, argv[1], &x, &lx) || !arg_i32(env, argv[2], &rows) || !arg_f32(env, argv[4], &out, &lo)) return NULL;
  /* tfjs computes other activations with its own JavaScript kernels: their bits may differ. */
  for (int i = 0; i < p->n; i++)
    if (p->L[i].kind == L_BATCH_NORM || ((p->L[i].kind == L_DENSE || p->L[i].kind == L_ACTIVATION) && p->L[i].act != A_LINEAR && p->L[i].act != A_RELU)) {
      napi_get_boolean(env, false, &result);
      return result;
    }
  if (!get_f32_list(env, argv[3], params, lparams, (uint32_t)p->params, "mlpPredict: wrong number of parameters")) return NULL;
  const int k = p->L[p->n - 1].out;
  if (!check(env, rows >= 0 && (size_t)rows * p->inputs <= lx && (size_t)rows * k <= lo, "mlpPredict: bad sizes")) return NULL;
  layer_params lp;
  if (!bind_params(env, p, params, lparams, &lp)) return NULL;
  for (int r0 = 0; r0 < rows; r0 += p->max_rows) {
    const int n = rows - r0 < p->max_rows ? rows - r0 : p->max_rows;
    const float *in = x + (size_t)r0 * p->inputs;
    for (int i = 0; i < p->n; i++) {
      layer *l = &p->L[i];
      const size_t cells = (size_t)n * l->out;
      if (l->kind == L_DENSE) {
        dense_forward(l, n, in, lp.W[i], lp.B[i]);
        in = l->y;
      } else if (l->kind == L_ACTIVATION) {
        memcpy(l->z, in, cells * sizeof(float));
        activate(l->act, l->z, l->y, cells);
        in = l->y;
      } /* dropout: the identity in inference */
    }
    memcpy(out + (size_t)r0 * k, in, (size_t)n * k * sizeof(float));
  }
  napi_get_boolean(env, true, &result);
  return result;
}
