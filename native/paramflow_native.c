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
