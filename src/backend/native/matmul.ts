import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { UNARY, type NativeAddon } from './addon.js';
import { asCpu, f32, sizeOf, type CpuBackend } from './cpu-data.js';

/** Activations of a fused matmul computed in its native epilogue; others go to the cpu kernel. */
const EPILOGUE: Record<string, number> = {
  linear: UNARY.linear,
  relu: UNARY.relu,
  relu6: UNARY.relu6,
  leakyrelu: UNARY.leakyrelu,
  sigmoid: UNARY.sigmoid,
};

/**
 * op(a) · op(b) by the BLAS, for float32 operands of rank ≥ 2 whose batch dimensions match or
 * are 1; undefined for anything else (the cpu kernel then does it, with its own error messages).
 */
export function nativeMatMul(
  addon: NativeAddon,
  backend: CpuBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): { out: Float32Array; shape: number[] } | undefined {
  const av = f32(backend, a);
  const bv = f32(backend, b);
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (!av || !bv || ra < 2 || rb < 2) return undefined;
  const m = a.shape[transposeA ? ra - 1 : ra - 2]!;
  const k = a.shape[transposeA ? ra - 2 : ra - 1]!;
  const kb = b.shape[transposeB ? rb - 1 : rb - 2]!;
  const n = b.shape[transposeB ? rb - 2 : rb - 1]!;
  if (k !== kb) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const batch = Math.max(batchA, batchB);
  const outer = batchA >= batchB ? outerA : outerB;
  const out = new Float32Array(batch * m * n);
  addon.sgemm(
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    batch,
    m,
    n,
    k,
    av,
    batchA === 1 ? 0 : m * k,
    bv,
    batchB === 1 ? 0 : k * n,
    out,
  );
  return { out, shape: [...outer, m, n] };
}

/** `BatchMatMul` on the BLAS (falls back to `original` for what it does not cover). */
export function batchMatMulKernel(addon: NativeAddon, original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs;
    const backend = asCpu(args.backend);
    const r =
      a && b
        ? nativeMatMul(addon, backend, a, b, args.attrs?.transposeA === true, args.attrs?.transposeB === true)
        : undefined;
    return r ? backend.makeTensorInfo(r.shape, 'float32', r.out) : original(args);
  };
}

/** `_FusedMatMul`: the BLAS product, then bias and activation in one native pass over it. */
export function fusedMatMulKernel(addon: NativeAddon, original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b, bias } = args.inputs;
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const activation = typeof attrs.activation === 'string' ? attrs.activation : 'linear';
    const op = EPILOGUE[activation];
    const backend = asCpu(args.backend);
    const n = b ? b.shape[attrs.transposeB === true ? b.shape.length - 2 : b.shape.length - 1] : undefined;
    // A bias broadcast along rows only ([n], [1, n], …); anything else goes to the cpu kernel.
    const biasValues = bias ? f32(backend, bias) : null;
    if (
      op === undefined ||
      !a ||
      !b ||
      biasValues === undefined ||
      (bias && (sizeOf(bias.shape) !== n || bias.shape.at(-1) !== n))
    )
      return original(args);
    const r = nativeMatMul(addon, backend, a, b, attrs.transposeA === true, attrs.transposeB === true);
    if (!r) return original(args);
    const alpha = typeof attrs.leakyreluAlpha === 'number' ? attrs.leakyreluAlpha : 0.2;
    if (n && (biasValues || op !== UNARY.linear)) addon.biasAct(r.out, r.out.length / n!, n!, biasValues, op, alpha);
    return backend.makeTensorInfo(r.shape, 'float32', r.out);
  };
}
