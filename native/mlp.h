/*
 * The fused MLP trainer's shared parts: the plan a model compiles to (mlp.c) and the layer
 * arithmetic its steps run (mlp_layers.c).
 */
#ifndef PARAMFLOW_MLP_H
#define PARAMFLOW_MLP_H
#include <stddef.h>
#include <stdint.h>

/* MAX_LAYERS, STRIDE (numbers per layer in mlpCreate's description), the layer, activation,
   optimizer and loss codes and the hyper positions: generated from native/boundary.json. */
#include "boundary.h"

/*
 * Wider vectors where the processor has them (GCC clones, one picked at load time through
 * glibc's ifunc: x86-64 Linux): the element-wise loops below use only +, -, *, / and sqrt,
 * exactly rounded in any vector width, with FMA contraction off (-ffp-contract=off) and
 * transcendental functions from the same scalar libm, so every clone gives the same bits.
 * Adam's update over a 2000×64 kernel is most of a small batch's step: 23% faster at 16 rows.
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__) && !defined(PARAMFLOW_PLAIN)
#define WIDE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDE
#endif

typedef struct {
  int kind, in, out, act, bias, center, scale;
  float l1, l2, momentum, eps, rate;
  /* Work arrays (max_rows × out unless said): z = before the activation (dense; aliases y when
     linear), y = the output, xhat = normalized input (BN), mask = dropout multipliers. */
  float *z, *y, *xhat, *mask;
  float *mean, *var, *invstd; /* BN, per feature */
  /* Index of the layer's first trainable parameter (kernel or gamma/beta) in the step's list. */
  int first_param;
} layer;

typedef struct {
  int n, inputs, max_rows, max_width, params, trainable;
  layer L[MAX_LAYERS];
  float *x, *t, *g0, *g1;
  double *acc; /* 2 × max_width: per-column sums, accumulated row by row (contiguous reads) */
  float **grad;   /* per trainable parameter */
  size_t *plen;   /* per trainable parameter: its length */
} plan;

typedef struct {
  int opt, loss;
  double lr, a, b, c, d, e, delta;
} hyper;

/* Forward: y = act(z) (nothing when z is y: linear). Backward: g = dL/dy → dL/dz in place. */
void activate(int a, const float *z, float *y, size_t n);
void activate_back(int a, float *g, const float *z, const float *y, size_t n);
void bn_forward(layer *l, const float *x, int rows, const float *gamma, const float *beta, float *mmean, float *mvar, double *acc);
void bn_backward(const layer *l, const float *g, float *dx, int rows, const float *gamma, float *dgamma, float *dbeta, int need_dx, double *acc);
void update(const hyper *h, float *w, const float *g, float *s0, float *s1, size_t n);
double loss_and_grad(const hyper *h, const float *p, const float *t, float *g, size_t n);
void dense_forward(layer *l, int rows, const float *in, const float *W, const float *B);

/* splitmix64: the dropout mask's stream, one per (layer, batch) seed. */
static inline uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

#endif
