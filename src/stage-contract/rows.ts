import { ParamflowError } from '../util/errors.js';
import { bytesPerElement, isNdArray, ndarray } from './ndarray.js';
import type { ArrayFile, ArraySink, DType, NdArray, StageContext, StageInputs, TypedArrayFor } from './types.js';

// Row access that is the same for an array in memory and one in its file (ArrayFile), so a
// stage that streams has one code path: the values, and so the results, cannot differ.

export type ArrayInput<D extends DType = DType> = NdArray<D> | ArrayFile<D>;

/** About this many bytes per chunk when a stage walks an array's rows in order. */
const CHUNK_BYTES = 4 << 20;

export function isArrayFile(a: unknown): a is ArrayFile {
  return typeof a === 'object' && a !== null && (a as { kind?: unknown }).kind === 'array-file';
}

/** Input `name` as an array, in memory or in its file (for a stage that declares `streams`). */
export function requireArrayInput(inputs: StageInputs, name: string, stage: string): ArrayInput {
  const a = inputs[name];
  if (isNdArray(a) || isArrayFile(a)) return a;
  throw new ParamflowError(
    'PF_INPUT_MISSING',
    a === undefined
      ? `stage ${stage} needs an input named ${name}, and none was given`
      : `stage ${stage} expected input ${name} to be an array, got a ${a.kind === 'json' ? 'JSON document' : a.kind}`,
    { hint: `list a stage that outputs the array ${name} under this stage's needs:` },
  );
}

/** Values per row (everything after the first dimension). */
export function rowLength(a: { shape: readonly number[] }): number {
  return a.shape.slice(1).reduce((x, y) => x * y, 1);
}

/** Rows whose values fill about CHUNK_BYTES (at least one). */
export function chunkRows(a: { shape: readonly number[]; dtype: DType }): number {
  return Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, rowLength(a) * bytesPerElement(a.dtype))));
}

/** Rows `start … start + count - 1`: a view of an in-memory array unless `into` is given. */
export function readRows<D extends DType>(
  a: ArrayInput<D>,
  start: number,
  count: number,
  into?: TypedArrayFor<D>,
): TypedArrayFor<D> {
  if (isArrayFile(a)) return a.readRows(start, count, into);
  const w = rowLength(a);
  const view = a.data.subarray(start * w, (start + count) * w) as TypedArrayFor<D>;
  if (!into) return view;
  into.set(view);
  return into;
}

/** Rows `indices` (in that order) into `into`, one after another. */
export function gatherRows<D extends DType>(
  a: ArrayInput<D>,
  indices: ArrayLike<number>,
  into: TypedArrayFor<D>,
): void {
  const w = rowLength(a);
  for (let r = 0; r < indices.length; r++)
    readRows(a, indices[r]!, 1, into.subarray(r * w, (r + 1) * w) as TypedArrayFor<D>);
}

/**
 * Calls `visit` with consecutive chunks of rows, first to last (a view for an in-memory
 * array, one reused buffer for a file). Work on row i sees the rows in their order either way.
 */
export function forEachChunk<D extends DType>(
  a: ArrayInput<D>,
  visit: (values: TypedArrayFor<D>, start: number, count: number) => void,
  rowsPerChunk = chunkRows(a),
): void {
  const n = a.shape[0] ?? 0;
  if (!isArrayFile(a)) {
    if (n > 0) visit(a.data, 0, n);
    return;
  }
  const room = ndarray(a.dtype, [Math.min(n, rowsPerChunk) * rowLength(a)]).data;
  for (let start = 0; start < n; start += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, n - start);
    visit(a.readRows(start, count, room.subarray(0, count * rowLength(a)) as TypedArrayFor<D>), start, count);
  }
}

/** The whole array in memory: for small inputs (targets, folds) a stage needs at random. */
export function wholeArray<D extends DType>(a: ArrayInput<D>): NdArray<D> {
  return isArrayFile(a) ? ndarray(a.dtype, a.shape, a.readRows(0, a.shape[0] ?? 0)) : a;
}

/** ctx.createArray where the runner gives one, else an in-memory sink (a test's context). */
export function arraySink<D extends DType>(
  ctx: Pick<StageContext, 'createArray'>,
  name: string,
  dtype: D,
  shape: readonly number[],
): Promise<ArraySink<D>> {
  return ctx.createArray ? ctx.createArray(name, dtype, shape) : Promise.resolve(memorySink(dtype, shape));
}

/** A sink that gathers the rows into one NdArray. */
export function memorySink<D extends DType>(dtype: D, shape: readonly number[]): ArraySink<D> {
  const out = ndarray(dtype, shape);
  let filled = 0;
  return {
    append: async (values) => {
      if (filled + values.length > out.data.length) throw sinkOverflow(shape, filled + values.length);
      out.data.set(values as never, filled);
      filled += values.length;
    },
    finish: async () => {
      if (filled !== out.data.length) throw sinkShort(shape, filled);
      return out;
    },
  };
}

export function sinkOverflow(shape: readonly number[], values: number): Error {
  return new RangeError(`array output of shape [${shape.join(', ')}] was given ${values} values, more than it holds`);
}

export function sinkShort(shape: readonly number[], values: number): Error {
  const size = shape.reduce((a, b) => a * b, 1);
  return new RangeError(`array output of shape [${shape.join(', ')}] finished with ${values} of its ${size} values`);
}
