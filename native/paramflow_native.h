/* What the addon's files share: the product, argument helpers and the functions init() exports. */
#ifndef PARAMFLOW_NATIVE_H
#define PARAMFLOW_NATIVE_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* C (m×n) = op(A) · op(B), row-major, rows of C shared out over the addon's threads (bit-identical on any count). */
void gemm(int ta, int tb, int m, int n, int k, const float *a, const float *b, float *c);

/* Argument helpers: they throw a JS TypeError (RangeError for check) and return 0 on bad input. */
int arg_f32(napi_env env, napi_value v, float **data, size_t *len);
int arg_i32(napi_env env, napi_value v, int32_t *out);
int arg_f64(napi_env env, napi_value v, double *out);
int check(napi_env env, int ok, const char *message);
/* A JS array of at most max integers. */
int arg_ints(napi_env env, napi_value v, int32_t *out, size_t max, size_t *n);

#define ARGS(count)                                                        \
  size_t argc = count;                                                     \
  napi_value argv[count];                                                  \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) { \
    napi_throw_type_error(env, NULL, "too few arguments");                 \
    return NULL;                                                           \
  }

/* The backend's kernels (native/tensor_ops.c). */
napi_value sgemm(napi_env env, napi_callback_info info);
napi_value unary(napi_env env, napi_callback_info info);
napi_value bias_act(napi_env env, napi_callback_info info);
napi_value binary(napi_env env, napi_callback_info info);
napi_value reduce(napi_env env, napi_callback_info info);
napi_value scale_rows(napi_env env, napi_callback_info info);
napi_value adam(napi_env env, napi_callback_info info);

/* The product's thread count (native/gemm_threads.c). */
napi_value set_blas_threads(napi_env env, napi_callback_info info);
napi_value get_blas_threads(napi_env env, napi_callback_info info);

/* The fused MLP trainer's functions (native/mlp.c). */
napi_value mlp_create(napi_env env, napi_callback_info info);
napi_value mlp_step(napi_env env, napi_callback_info info);
napi_value mlp_predict(napi_env env, napi_callback_info info);

#endif
