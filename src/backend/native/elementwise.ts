import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { BINARY, REDUCE, UNARY, type NativeAddon } from './addon.js';
import { asCpu, f32, sizeOf } from './cpu-data.js';

// Elementwise and reduction kernels of the native backend. Each handles float32 tensors held
// as Float32Arrays and leaves anything else (int32, bool, complex, rank > 8) to the cpu kernel
// it replaces. The cpu versions spend their time in per-element index maths (broadcasts),
// closures per element, and a transpose before every reduction that is not over the last axes.

const MAX_RANK = 8;

export const BINARY_KERNELS: Record<string, number> = {
  Add: BINARY.add,
  Sub: BINARY.sub,
  Multiply: BINARY.mul,
  RealDiv: BINARY.div,
  Maximum: BINARY.max,
  Minimum: BINARY.min,
  SquaredDifference: BINARY.sqdiff,
};

export const UNARY_KERNELS: Record<string, number> = {
  Relu: UNARY.relu,
  Relu6: UNARY.relu6,
  LeakyRelu: UNARY.leakyrelu,
  Step: UNARY.step,
  Sqrt: UNARY.sqrt,
  Square: UNARY.square,
  Neg: UNARY.neg,
  Abs: UNARY.abs,
  Exp: UNARY.exp,
  Log: UNARY.log,
  Rsqrt: UNARY.rsqrt,
  Sigmoid: UNARY.sigmoid,
  Reciprocal: UNARY.reciprocal,
};

export const REDUCE_KERNELS = ['Sum', 'Mean', 'Max', 'Min'] as const;

/** numpy broadcasting of two shapes, or undefined when they do not broadcast. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const x = a[a.length - rank + d] ?? 1;
    const y = b[b.length - rank + d] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Strides of `shape` per dimension of `out` (aligned right), 0 where it is broadcast. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): Int32Array {
  const strides = new Int32Array(out.length);
  let stride = 1;
  for (let d = out.length - 1, e = shape.length - 1; d >= 0; d--, e--) {
    const dim = e >= 0 ? shape[e]! : 1;
    strides[d] = dim === 1 && out[d] !== 1 ? 0 : stride;
    stride *= dim;
  }
  return strides;
}

export function binaryKernel(addon: NativeAddon, op: number, original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const backend = asCpu(args.backend);
    const av = f32(backend, a);
    const bv = f32(backend, b);
    const shape = av && bv ? broadcastShape(a.shape, b.shape) : undefined;
    if (!av || !bv || !shape || shape.length > MAX_RANK) return original(args);
    const size = sizeOf(shape);
    const out = new Float32Array(size);
    // Same shapes, or a single value against a tensor: one flat loop.
    const sa = sizeOf(a.shape);
    const sb = sizeOf(b.shape);
    if ((sa === size || sa === 1) && (sb === size || sb === 1)) {
      addon.binary(
        op,
        av,
        Int32Array.of(sa === 1 ? 0 : 1),
        bv,
        Int32Array.of(sb === 1 ? 0 : 1),
        out,
        Int32Array.of(size),
      );
    } else {
      addon.binary(
        op,
        av,
        broadcastStrides(a.shape, shape),
        bv,
        broadcastStrides(b.shape, shape),
        out,
        Int32Array.from(shape),
      );
    }
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}

export function unaryKernel(addon: NativeAddon, op: number, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = asCpu(args.backend);
    const xv = f32(backend, x);
    if (!xv) return original(args);
    const out = new Float32Array(xv.length);
    const alpha = typeof args.attrs?.alpha === 'number' ? args.attrs.alpha : 0;
    addon.unary(op, xv, out, alpha);
    return backend.makeTensorInfo([...x.shape], 'float32', out);
  };
}

/** The reduced axes as outer × size × inner, when they are contiguous (e.g. axis 0 of a matrix). */
function reductionLayout(
  shape: readonly number[],
  axis: unknown,
): { outer: number; size: number; inner: number; axes: number[] } | undefined {
  const rank = shape.length;
  const list = axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  if (!list.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= -rank && v < rank)) return undefined;
  const axes = [...new Set((list as number[]).map((v) => (v < 0 ? v + rank : v)))].sort((p, q) => p - q);
  if (axes.length === 0) return undefined;
  const first = axes[0]!;
  const last = axes.at(-1)!;
  if (last - first + 1 !== axes.length) return undefined;
  return {
    outer: sizeOf(shape.slice(0, first)),
    size: sizeOf(shape.slice(first, last + 1)),
    inner: sizeOf(shape.slice(last + 1)),
    axes,
  };
}

export function reduceKernel(
  addon: NativeAddon,
  name: (typeof REDUCE_KERNELS)[number],
  original: KernelFunc,
): KernelFunc {
  const op = name === 'Max' ? REDUCE.max : name === 'Min' ? REDUCE.min : REDUCE.sum;
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = asCpu(args.backend);
    const xv = f32(backend, x);
    // Max names its axes `reductionIndices`; Sum, Mean and Min name them `axis`.
    const axis = name === 'Max' ? args.attrs?.reductionIndices : args.attrs?.axis;
    const layout = xv ? reductionLayout(x.shape, axis) : undefined;
    if (!xv || !layout || (layout.size === 0 && op !== REDUCE.sum)) return original(args);
    const out = new Float32Array(layout.outer * layout.inner);
    addon.reduce(op, xv, layout.outer, layout.size, layout.inner, out);
    if (name === 'Mean') for (let i = 0; i < out.length; i++) out[i] = out[i]! / layout.size;
    const keep = args.attrs?.keepDims === true;
    const shape = keep
      ? x.shape.map((d, i) => (layout.axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !layout.axes.includes(i));
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}
