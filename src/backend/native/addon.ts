import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { envValue } from '../../util/env-vars.js';
import { packageRoot } from '../../util/package-root.js';

/**
 * The N-API addon of native/paramflow_native.c, built at install time by
 * scripts/build-native.mjs into build/native.node. Every function works in place on
 * Float32Arrays owned by the caller (no copies); sizes are checked on the C side.
 */
export interface NativeAddon {
  /** For each batch i: C[i] (m×n) = op(A[i]) · op(B[i]), row-major; a batch stride of 0 broadcasts. */
  sgemm(
    transA: number,
    transB: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aStride: number,
    b: Float32Array,
    bStride: number,
    c: Float32Array,
  ): void;
  /** out[i] = op(x[i]) (op: a {@link UNARY} code); out may be x. */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** c[r, j] = op(c[r, j] + bias[j]) in place: a fused matmul's epilogue. */
  biasAct(c: Float32Array, rows: number, cols: number, bias: Float32Array | null, op: number, alpha: number): void;
  /** out = a op b, broadcasting by strides per output dimension (0 where broadcast). */
  binary(
    op: number,
    a: Float32Array,
    aStrides: Int32Array,
    b: Float32Array,
    bStrides: Int32Array,
    out: Float32Array,
    shape: Int32Array,
  ): void;
  /** out[o, i] = op over r of x[o, r, i] (a {@link REDUCE} code). */
  reduce(op: number, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  /** One Adam step over a weight: new value, first and second moments into the three outputs. */
  adam(
    value: Float32Array,
    m: Float32Array,
    v: Float32Array,
    grad: Float32Array,
    outValue: Float32Array,
    outM: Float32Array,
    outV: Float32Array,
    beta1: number,
    beta2: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
    epsilon: number,
    lr: number,
  ): void;
  /**
   * A fused MLP trainer's plan (stages/train/fused.ts): layers described by 8 numbers each
   * (native/mlp.c), the input width and the largest batch; owns its work arrays.
   */
  mlpCreate(layers: Float64Array, inputs: number, maxRows: number): object;
  /**
   * One training step on rows order[start .. start + rows) of x and t: forward, loss, backward
   * and the optimizer's update, in place on the parameters and optimizer arrays given. Returns
   * the loss (penalties included) before the update.
   */
  mlpStep(
    plan: object,
    x: Float32Array,
    t: Float32Array,
    order: Int32Array,
    start: number,
    rows: number,
    params: Float32Array[],
    state: Float32Array[],
    hyper: Float64Array,
    seeds: Float64Array,
  ): number;
  /**
   * The model's outputs for `rows` rows of x in inference mode into out, with the bits tfjs's
   * native backend gives; false (nothing written) for a model it does not cover (batch norm,
   * activations other than relu and linear).
   */
  mlpPredict(plan: object, x: Float32Array, rows: number, params: Float32Array[], out: Float32Array): boolean;
  /** Threads for large products (rows split; results identical on any count). */
  setThreads(n: number): void;
  /** The thread count setThreads set. */
  getThreads(): number;
  /** The GEMM in use, for people: "paramflow GEMM, avx512 kernel", or OpenBLAS's build string. */
  blas(): string;
  /** The arithmetic the products follow, as stage keys name it ({@link nativeArithmetic}). */
  arithmetic(): string;
  /** The GEMM micro-kernel in use (avx512, avx2, neon, scalar; openblas in an opt-in build). */
  gemmKernel(): string;
  /** The kernels this CPU runs, widest first. */
  gemmKernels(): string[];
  /** Uses another kernel (same bits; tests and the bench). Throws a RangeError if it cannot run here. */
  setGemmKernel(name: string): void;
  /**
   * out[r·outStride + outOffset + j] = fround((src[rows[r]·width + j] − mean) / std), computed in
   * double as JavaScript does (not under the flush mode: the same bits as the JavaScript loop).
   */
  scaleRows(
    src: Float32Array,
    rows: Int32Array,
    width: number,
    mean: number,
    std: number,
    out: Float32Array,
    outStride: number,
    outOffset: number,
  ): void;
  /** x · y in float32 under the addon's floating-point mode (a test hook: subnormals flush to 0). */
  multiply(x: number, y: number): number;
}

// The unary, binary and reduce codes come from native/boundary.json (boundary.ts).
export { BINARY, REDUCE, UNARY } from './boundary.js';

export function addonPath(): string {
  return join(packageRoot(), 'build', 'native.node');
}

interface BuildStatus {
  ok?: boolean;
  reason?: string;
  arithmetic?: string;
  blas?: string;
  /** An OpenBLAS build: the core OpenBLAS picks for this CPU without OPENBLAS_CORETYPE. */
  blasCore?: string;
}

function buildStatus(): BuildStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), 'build', 'native.json'), 'utf8')) as BuildStatus;
  } catch {
    return undefined; // no status file: the install script never ran (e.g. --ignore-scripts)
  }
}

/**
 * The arithmetic of the built addon's products, as train and evaluate keys record it (read from
 * the build's status file, no dlopen): paramflow's own GEMM gives the same bits on every CPU, so
 * it is one name; an OpenBLAS build's bits follow the sgemm kernel OpenBLAS picks for the CPU,
 * so its name carries that core: the one OpenBLAS picks for this CPU by itself (probed at build
 * time without OPENBLAS_CORETYPE), or OPENBLAS_CORETYPE when set.
 */
export function nativeArithmetic(env: NodeJS.ProcessEnv = process.env): string {
  const status = buildStatus();
  const arithmetic = status?.arithmetic ?? 'unknown';
  if (arithmetic !== 'openblas') return arithmetic;
  const core = env.OPENBLAS_CORETYPE || status?.blasCore || 'unknown';
  return `openblas-${core.toLowerCase()}-ftz`;
}

/**
 * Why the native backend cannot load, or undefined. Reads files only (no dlopen: a cached
 * no-op run must stay fast): `PARAMFLOW_NO_NATIVE=1`, or the install-time build's own reason.
 */
export function nativeProblem(): string | undefined {
  if (process.env.PARAMFLOW_NO_NATIVE === '1') return 'PARAMFLOW_NO_NATIVE=1';
  if (existsSync(addonPath())) return undefined;
  const failed = buildStatus()?.reason;
  const reason = failed ? `its build failed: ${failed}` : 'it was not built';
  return `the native kernels are not available (${reason}; \`npm run build:native\` builds them)`;
}

let addon: NativeAddon | undefined;

/** Loads the addon once per process and sets its BLAS threads ({@link blasThreads}). */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const module = { exports: {} as NativeAddon };
  process.dlopen(module, addonPath());
  addon = module.exports;
  addon.setThreads(blasThreads());
  return addon;
}

/**
 * The addon when it is built and loads, else undefined: for helpers whose addon and JavaScript
 * versions give the same bits (so which one runs never changes a result).
 */
export function addonIfAvailable(): NativeAddon | undefined {
  if (nativeProblem() !== undefined) return undefined;
  try {
    return loadAddon();
  } catch {
    return undefined; // the backend's own load reports why, where it matters
  }
}

/**
 * BLAS threads for this process: `PARAMFLOW_BLAS_THREADS`, else `OPENBLAS_NUM_THREADS` (a sweep
 * sets each worker's share of the cores), else every core the process may use.
 */
export function blasThreads(env: NodeJS.ProcessEnv = process.env): number {
  // PARAMFLOW_BLAS_THREADS is ours: a bad value is refused (exit 2), not ignored. OPENBLAS_NUM_THREADS is OpenBLAS's.
  for (const v of [envValue('PARAMFLOW_BLAS_THREADS', env), env.OPENBLAS_NUM_THREADS]) {
    const n = Number(v);
    if (v && Number.isInteger(n) && n >= 1) return n;
  }
  return availableParallelism();
}
