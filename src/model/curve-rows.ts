import { chunkRows, isArrayFile, readRows, type ArrayInput } from '../stage-contract/rows.js';
import type { Matrix } from './features.js';
import {
  blockPairStats,
  chunkedColumnStats,
  fitCurveScaler,
  scaledCurveFeatures,
  scaleInputs,
  type Block,
  type FoldScaler,
  type InputMode,
} from './scalers.js';

// The network's inputs for data too large to hold (X and Y left in their files): read and
// scaled a batch at a time, with the same values, so the same bits, as the in-memory path.

/** A set of network-input rows, read `count` at a time in a given order. */
export interface Rows {
  readonly rows: number;
  readonly cols: number;
  /** All of them, scaled, when they are in memory (the fused trainer then gathers them itself). */
  readonly matrix?: Matrix;
  /** Rows order[start … start + count - 1] into `into`, one after another. */
  gather(order: ArrayLike<number>, start: number, count: number, into: Float32Array): void;
}

/** Rows order[start … start + count - 1] of a matrix into `into`. */
export function gatherMatrix(
  m: Matrix,
  order: ArrayLike<number>,
  start: number,
  count: number,
  into: Float32Array,
): void {
  for (let r = 0; r < count; r++) {
    const i = order[start + r]!;
    into.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), r * m.cols);
  }
}

/** Rows of a matrix in memory. */
export function matrixRows(m: Matrix): Rows {
  return {
    rows: m.rows,
    cols: m.cols,
    matrix: m,
    gather: (order, start, count, into) => gatherMatrix(m, order, start, count, into),
  };
}

/** True when X or Y is left in its file: the rows are then read as needed, never all at once. */
export function streamed(X: ArrayInput, Y: ArrayInput): boolean {
  return isArrayFile(X) || isArrayFile(Y);
}

/**
 * Raw curve features (curveFeatures: a curve's x values then its y values, as float32) of
 * rows `picks` of X and Y, into `into`.
 */
function readFeatures(X: ArrayInput, Y: ArrayInput, picks: ArrayLike<number>, count: number, into: Float32Array): void {
  const p = X.shape[1]!;
  const direct = X.dtype === 'float32' && Y.dtype === 'float32';
  const row = direct ? undefined : new Float64Array(p);
  for (let r = 0; r < count; r++) {
    const i = picks[r]!;
    const at = 2 * r * p;
    if (direct) {
      readRows(X as ArrayInput<'float32'>, i, 1, into.subarray(at, at + p));
      readRows(Y as ArrayInput<'float32'>, i, 1, into.subarray(at + p, at + 2 * p));
    } else {
      // float64 curves: rounded to float32 by the store, as curveFeatures does.
      into.set(readRows(X, i, 1, row as never), at);
      into.set(readRows(Y, i, 1, row as never), at + p);
    }
  }
}

/** Scaled network inputs of rows `subset` of X and Y, read from their files as asked. */
export class ScaledCurveRows implements Rows {
  readonly rows: number;
  readonly cols: number;
  private picks = new Int32Array(0);

  constructor(
    private readonly scaler: FoldScaler,
    private readonly X: ArrayInput,
    private readonly Y: ArrayInput,
    private readonly subset: Int32Array,
  ) {
    this.rows = subset.length;
    this.cols = 2 * X.shape[1]!;
  }

  gather(order: ArrayLike<number>, start: number, count: number, into: Float32Array): void {
    if (this.picks.length < count) this.picks = new Int32Array(count);
    for (let r = 0; r < count; r++) this.picks[r] = this.subset[order[start + r]!]!;
    const raw = into.subarray(0, count * this.cols);
    readFeatures(this.X, this.Y, this.picks, count, raw);
    scaleInputs(this.scaler, { rows: count, cols: this.cols, data: raw }, raw);
  }
}

/** scaledCurveFeatures for X and Y in memory or in files: rows `indices`, scaled. */
export function scaledRows(
  s: FoldScaler,
  X: ArrayInput,
  Y: ArrayInput,
  indices: Int32Array,
  into?: Float32Array,
): Matrix {
  if (!streamed(X, Y)) return scaledCurveFeatures(s, X as never, Y as never, indices, into);
  const cols = 2 * X.shape[1]!;
  const data = into ? into.subarray(0, indices.length * cols) : new Float32Array(indices.length * cols);
  new ScaledCurveRows(s, X, Y, indices).gather(identity(indices.length), 0, indices.length, data);
  return { rows: indices.length, cols, data };
}

/**
 * fitCurveScaler for X and Y in memory or in files: over files, the training rows are read a
 * chunk at a time, twice (a mean pass, then a variance pass), with the sums of the in-memory
 * path in its order, so the same scaler to the bit.
 */
export function fitScalerStreamed(
  X: ArrayInput,
  Y: ArrayInput,
  indices: Int32Array,
  targets: Matrix,
  mode: InputMode,
  standardizeTargets: boolean,
): FoldScaler {
  if (!streamed(X, Y)) return fitCurveScaler(X as never, Y as never, indices, targets, mode, standardizeTargets);
  const targetStats = {
    ...chunkedColumnStats(targets.rows, targets.cols, (v) => v(targets)),
    standardize: standardizeTargets,
  };
  if (mode === 'per-curve' || mode === 'none') return { inputs: { mode, mean: null, std: null }, targets: targetStats };
  const p = X.shape[1]!;
  const step = chunkRows({ shape: [1, 2 * p], dtype: 'float32' });
  const buffer = new Float32Array(Math.min(step, indices.length) * 2 * p);
  // Chunks of the training rows, as raw curve features, first to last.
  const each = (visit: (m: Matrix, count: number) => void) => {
    for (let first = 0; first < indices.length; first += step) {
      const count = Math.min(step, indices.length - first);
      readFeatures(X, Y, indices.subarray(first, first + count), count, buffer);
      visit({ rows: count, cols: 2 * p, data: buffer.subarray(0, count * 2 * p) }, count);
    }
  };
  if (mode === 'per-feature')
    return { inputs: { mode, ...chunkedColumnStats(indices.length, 2 * p, each) }, targets: targetStats };
  // In a chunk of raw features, row r's x values start at 2·r·p and its y values p later.
  const xStarts = Int32Array.from({ length: step }, (_, r) => 2 * r * p);
  const yStarts = xStarts.map((s) => s + p);
  const pairs = (visit: (a: Block, b: Block) => void) =>
    each((m, count) =>
      visit({ data: m.data, starts: xStarts.subarray(0, count) }, { data: m.data, starts: yStarts.subarray(0, count) }),
    );
  return { inputs: { mode, ...blockPairStats(indices.length, p, pairs) }, targets: targetStats };
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
