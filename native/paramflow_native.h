/* What native/paramflow_native.c shares with the other files of the addon (native/mlp.c). */
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

#define ARGS(count)                                                        \
  size_t argc = count;                                                     \
  napi_value argv[count];                                                  \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) { \
    napi_throw_type_error(env, NULL, "too few arguments");                 \
    return NULL;                                                           \
  }

/* The fused MLP trainer's functions (native/mlp.c). */
napi_value mlp_create(napi_env env, napi_callback_info info);
napi_value mlp_step(napi_env env, napi_callback_info info);
napi_value mlp_predict(napi_env env, napi_callback_info info);

#endif
