import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { asCpu, sizeOf } from './cpu-data.js';

/**
 * `Tile` by whole rows: each output row (the last dimension) is the input row it repeats,
 * copied `reps[last]` times with TypedArray.set. The cpu kernel computes an index per element;
 * BatchNorm's gradient tiles a [batch, units] tensor every step.
 */
export function tileKernel(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const reps = args.attrs?.reps as number[] | undefined;
    const backend = asCpu(args.backend);
    const values = backend.data.get(x.dataId).values;
    const rank = x.shape.length;
    if (
      !(values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array) ||
      !reps ||
      reps.length !== rank ||
      rank === 0
    )
      return original(args);
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = new (values.constructor as Float32ArrayConstructor)(sizeOf(outShape));
    const rowLength = x.shape[rank - 1]!;
    const repeat = reps[rank - 1]!;
    if (out.length === 0 || rowLength === 0) return backend.makeTensorInfo(outShape, x.dtype, out);
    // Strides of the input over its leading dimensions, and a counter over the output's.
    const strides: number[] = new Array(rank).fill(0);
    for (let d = rank - 2, s = rowLength; d >= 0; d--) {
      strides[d] = s;
      s *= x.shape[d]!;
    }
    const idx: number[] = new Array(rank - 1).fill(0);
    const rows = out.length / (rowLength * repeat);
    let o = 0;
    for (let r = 0; r < rows; r++) {
      let src = 0;
      for (let d = 0; d < rank - 1; d++) src += (idx[d]! % x.shape[d]!) * strides[d]!;
      const row = values.subarray(src, src + rowLength);
      for (let k = 0; k < repeat; k++, o += rowLength) out.set(row, o);
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d]! < outShape[d]!) break;
        idx[d] = 0;
      }
    }
    return backend.makeTensorInfo(outShape, x.dtype, out);
  };
}
