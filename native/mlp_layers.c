/*
 * The arithmetic of the fused trainer's layers, as tfjs-layers 4.22 and tfjs-core compute it
 * (read their sources): activations and their gradients, batch normalization with biased batch
 * variance and moving statistics updated as m - (m - batch) * (1 - momentum), the losses
 * reduced as a mean over every value, and the optimizers' float32 updates operation by
 * operation. Loops run in a fixed order (sums in double), so results depend only on inputs.
 */
#include <math.h>
#include <string.h>
#include "mlp.h"
#include "paramflow_native.h"

static const double SELU_SCALE = 1.0507009873554804934193349852946;
static const double SELU_SCALEALPHA = 1.7580993408473768599402175208123;

/* ---- activations: values as tfjs's cpu kernels compute them, derivatives as its gradients ---- */

static inline float act_f(int a, float x) {
  switch (a) {
    case A_RELU: return isnan(x) ? x : (x < 0 ? 0 : x);
    case A_TANH: return (float)tanh((double)x);
    case A_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
    case A_ELU: return x >= 0 ? x : (float)(exp((double)x) - 1);
    case A_SELU: return x >= 0 ? (float)(SELU_SCALE * x) : (float)(SELU_SCALEALPHA * (exp((double)x) - 1));
    case A_SOFTPLUS: {
      /* tfjs's Softplus: exp(x) below log(eps) + 2, x above its negative, else log(1 + exp(x)). */
      const double threshold = log(1.1920928955078125e-7) + 2.0, e = exp((double)x);
      return (float)(x > -threshold ? x : x < threshold ? e : log(1.0 + e));
    }
    default: return x;
  }
}

/* dL/dz from dL/dy = g, given z (before) and y (after the activation). */
static inline float act_grad(int a, float g, float z, float y) {
  switch (a) {
    case A_RELU: return z > 0 ? g : 0;
    case A_TANH: return (1 - y * y) * g;
    case A_SIGMOID: return g * (y * (1 - y));
    case A_ELU: return y >= 0 ? g : g * (y + 1);
    case A_SELU: return z > 0 ? g * (float)SELU_SCALE : (g * (float)SELU_SCALEALPHA) * (float)exp((double)z);
    case A_SOFTPLUS: return g * (float)(1.0 / (1.0 + exp(-(double)z)));
    default: return g;
  }
}

/* ReLU, the common case, has loops of its own: with the activation known the compiler vectorises them. */
WIDE void activate(int a, const float *z, float *y, size_t n) {
  if (z == y) return;
  if (a == A_RELU)
    for (size_t i = 0; i < n; i++) y[i] = act_f(A_RELU, z[i]);
  else
    for (size_t i = 0; i < n; i++) y[i] = act_f(a, z[i]);
}

WIDE void activate_back(int a, float *g, const float *z, const float *y, size_t n) {
  if (a == A_RELU)
    for (size_t i = 0; i < n; i++) g[i] = act_grad(A_RELU, g[i], z[i], y[i]);
  else if (a != A_LINEAR)
    for (size_t i = 0; i < n; i++) g[i] = act_grad(a, g[i], z[i], y[i]);
}

/* ---- layers ---- */

void bn_forward(layer *l, const float *x, int rows, const float *gamma, const float *beta, float *mmean, float *mvar, double *acc) {
  const int c = l->out;
  const float decay = (float)(1.0 - (double)l->momentum); /* tfjs: the JS number 1 - momentum as a float32 scalar */
  /* Per-column sums over the rows in row order, read row by row. */
  for (int j = 0; j < c; j++) acc[j] = 0;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < c; j++) acc[j] += x[(size_t)r * c + j];
  for (int j = 0; j < c; j++) {
    l->mean[j] = (float)(acc[j] / rows);
    acc[j] = 0;
  }
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < c; j++) {
      const float dv = x[(size_t)r * c + j] - l->mean[j];
      acc[j] += (double)dv * dv;
    }
  for (int j = 0; j < c; j++) {
    const float m = l->mean[j];
    l->var[j] = (float)(acc[j] / rows);
    l->invstd[j] = (float)(1.0 / sqrt((double)l->var[j] + (double)l->eps));
    mmean[j] = mmean[j] - (mmean[j] - m) * decay;
    mvar[j] = mvar[j] - (mvar[j] - l->var[j]) * decay;
  }
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * c;
    float *h = l->xhat + (size_t)r * c, *y = l->y + (size_t)r * c;
    for (int j = 0; j < c; j++) {
      h[j] = (xr[j] - l->mean[j]) * l->invstd[j];
      y[j] = h[j] * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
    }
  }
}

/* g (dL/dy) → dx, with dgamma and dbeta (either may be NULL); dx may be g. */
void bn_backward(const layer *l, const float *g, float *dx, int rows, const float *gamma, float *dgamma, float *dbeta, int need_dx, double *acc) {
  const int c = l->out;
  double *sg = acc, *sgh = acc + c;
  for (int j = 0; j < c; j++) sg[j] = sgh[j] = 0;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < c; j++) {
      const size_t i = (size_t)r * c + j;
      sg[j] += g[i];
      sgh[j] += (double)g[i] * l->xhat[i];
    }
  for (int j = 0; j < c; j++) {
    if (dgamma) dgamma[j] = (float)sgh[j];
    if (dbeta) dbeta[j] = (float)sg[j];
  }
  if (!need_dx) return;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < c; j++) {
      const size_t i = (size_t)r * c + j;
      const double k = (double)(gamma ? gamma[j] : 1.0f) * l->invstd[j] / rows;
      dx[i] = (float)(k * ((double)rows * g[i] - sg[j] - (double)l->xhat[i] * sgh[j]));
    }
}

/* One optimizer update of a parameter (w, its grad, its state arrays s0/s1), as tfjs computes it. */
WIDE void update(const hyper *h, float *w, const float *g, float *s0, float *s1, size_t n) {
  if (h->opt == O_SGD) {
    const float c = (float)(-h->lr);
    for (size_t i = 0; i < n; i++) w[i] = c * g[i] + w[i];
  } else if (h->opt == O_MOMENTUM) {
    const float c = (float)(-h->lr), m = (float)h->a;
    for (size_t i = 0; i < n; i++) {
      s0[i] = m * s0[i] + g[i];
      w[i] = c * s0[i] + w[i];
    }
  } else if (h->opt == O_ADAM) {
    const float beta1 = (float)h->a, beta2 = (float)h->b, k1 = (float)(1 - h->a), k2 = (float)(1 - h->b);
    const float eps = (float)h->c, acc1 = (float)h->d, acc2 = (float)h->e, step = (float)(-h->lr);
    for (size_t i = 0; i < n; i++) {
      const float gi = g[i];
      const float nm = s0[i] * beta1 + gi * k1;
      const float nv = s1[i] * beta2 + (gi * gi) * k2;
      s0[i] = nm;
      s1[i] = nv;
      w[i] = ((nm / acc1) / (sqrtf(nv / acc2) + eps)) * step + w[i];
    }
  } else {
    const float decay = (float)h->a, k = (float)(1 - h->a), mom = (float)h->b, eps = (float)h->c, lr = (float)h->lr;
    for (size_t i = 0; i < n; i++) {
      const float gi = g[i];
      const float ms = s0[i] * decay + (gi * gi) * k;
      s0[i] = ms;
      s1[i] = s1[i] * mom + (gi * lr) / sqrtf(ms + eps);
      w[i] = w[i] - s1[i];
    }
  }
}

/* Loss over rows × k predictions p and targets t; writes dL/dp into g. */
double loss_and_grad(const hyper *h, const float *p, const float *t, float *g, size_t n) {
  double sum = 0;
  const float inv = (float)(1.0 / (double)n), delta = (float)h->delta;
  for (size_t i = 0; i < n; i++) {
    const float d = p[i] - t[i], a = fabsf(d), sign = d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f;
    if (h->loss == LOSS_MSE) {
      sum += (double)d * d;
      g[i] = (2 * d) * inv;
    } else if (h->loss == LOSS_MAE) {
      sum += a;
      g[i] = sign * inv;
    } else {
      const float q = a < delta ? a : delta;
      sum += 0.5 * (double)q * q + (double)delta * (a - q);
      g[i] = (a <= delta ? a : delta) * sign * inv;
    }
  }
  return sum / (double)n;
}

/* A dense layer's forward pass on rows × in: z = in · W (+ bias), y = act(z). */
void dense_forward(layer *l, int rows, const float *in, const float *W, const float *B) {
  gemm(0, 0, rows, l->out, l->in, in, W, l->z);
  if (B)
    for (int r = 0; r < rows; r++)
      for (int j = 0; j < l->out; j++) l->z[(size_t)r * l->out + j] += B[j];
  activate(l->act, l->z, l->y, (size_t)rows * l->out);
}
