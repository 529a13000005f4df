/*
 * The addon's products: gemm() splits a large one by rows over threads and hands each part to
 * paramflow's own GEMM (native/gemm.c), or to OpenBLAS in the opt-in build.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "paramflow_native.h"
#include "gemm.h"
#ifdef PARAMFLOW_OPENBLAS
#include <cblas.h>
#endif

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

/* ---- the thread count, set from JS (PARAMFLOW_BLAS_THREADS) ---- */

napi_value set_blas_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t n;
  if (!arg_i32(env, argv[0], &n)) return NULL;
  if (!check(env, n >= 1, "threads must be at least 1")) return NULL;
  max_threads = n > MAX_THREADS ? MAX_THREADS : n;
  return NULL;
}

napi_value get_blas_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, max_threads, &v);
  return v;
}
