import { ParamflowError } from '../util/errors.js';
import type { DType, JsonArtifact, JsonValue, NdArray, StageInputs, TypedArrayFor } from './types.js';

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
} as const;

export function ndarray<D extends DType>(dtype: D, shape: readonly number[], data?: TypedArrayFor<D>): NdArray<D> {
  const size = shape.reduce((a, b) => a * b, 1);
  const buf = data ?? (new CONSTRUCTORS[dtype](size) as TypedArrayFor<D>);
  if (buf.length !== size) {
    throw new RangeError(`ndarray: shape [${shape.join(', ')}] holds ${size} values, data has ${buf.length}`);
  }
  return { kind: 'ndarray', dtype, shape: [...shape], data: buf };
}

export function jsonArtifact(value: JsonValue): JsonArtifact {
  return { kind: 'json', value };
}

export function bytesPerElement(dtype: DType): number {
  return CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
}

/** Bytes of the data of an array of this shape and dtype. */
export function byteSize(a: { shape: readonly number[]; dtype: DType }): number {
  return a.shape.reduce((x, y) => x * y, 1) * bytesPerElement(a.dtype);
}

/**
 * The values in `bytes` (host byte order), as a view of them when that is safe, which the
 * caller then hands over: the bytes start at a multiple of the element size, and their memory
 * is not Node's shared pool of small Buffers. A cached 80 MB input is then never copied.
 */
export function typedArrayFromBytes<D extends DType>(dtype: D, bytes: Uint8Array): TypedArrayFor<D> {
  const size = bytesPerElement(dtype);
  if (bytes.byteOffset % size === 0 && bytes.buffer.byteLength > Buffer.poolSize) {
    return new CONSTRUCTORS[dtype](
      bytes.buffer as ArrayBuffer,
      bytes.byteOffset,
      bytes.byteLength / size,
    ) as TypedArrayFor<D>;
  }
  // Else copy into an aligned buffer: a slice of a file buffer may start at any offset.
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  return new CONSTRUCTORS[dtype](aligned.buffer, 0, bytes.byteLength / size) as TypedArrayFor<D>;
}

export function isNdArray(a: unknown): a is NdArray {
  return typeof a === 'object' && a !== null && (a as { kind?: unknown }).kind === 'ndarray';
}

/** Row `i` of a 2-D array, as a view (no copy). */
export function row<D extends DType>(a: NdArray<D>, i: number): TypedArrayFor<D> {
  const cols = a.shape[1] ?? 1;
  return a.data.subarray(i * cols, (i + 1) * cols) as TypedArrayFor<D>;
}

/** Input `name` as an ndarray; stages call this instead of trusting the wiring blindly. */
export function requireArray(inputs: StageInputs, name: string, stage: string): NdArray {
  const a = inputs[name];
  if (a === undefined) {
    throw new ParamflowError('PF_INPUT_MISSING', `stage ${stage} needs an input named ${name}, and none was given`, {
      hint: `list a stage that outputs ${name} under this stage's needs:`,
    });
  }
  if (!isNdArray(a)) {
    throw new ParamflowError(
      'PF_INPUT_MISSING',
      `stage ${stage} expected input ${name} to be an array, got a JSON document`,
      {
        hint: `check which stage in needs: provides ${name}`,
      },
    );
  }
  return a;
}
