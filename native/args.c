/* Reading N-API arguments: each helper throws a JS TypeError (RangeError for check) and returns 0 on bad input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "paramflow_native.h"

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

int arg_ints(napi_env env, napi_value v, int32_t *out, size_t max, size_t *n) {
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
