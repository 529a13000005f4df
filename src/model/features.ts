import { forEachChunk, type ArrayInput } from '../stage-contract/rows.js';
import type { NdArray } from '../stage-contract/types.js';

/** A row-major float matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * The network's input: each curve's x values then its y values, concatenated (the
 * seed's 2 × 1000 = 2000 inputs), for the rows `indices` (all rows if omitted).
 */
export function curveFeatures(X: NdArray, Y: NdArray, indices?: ArrayLike<number>): Matrix {
  const n = X.shape[0]!;
  const p = X.shape[1]!;
  const take = indices ?? Array.from({ length: n }, (_, i) => i);
  const out = new Float32Array(take.length * 2 * p);
  for (let r = 0; r < take.length; r++) {
    const i = take[r]!;
    out.set(X.data.subarray(i * p, (i + 1) * p), r * 2 * p);
    out.set(Y.data.subarray(i * p, (i + 1) * p), r * 2 * p + p);
  }
  return { rows: take.length, cols: 2 * p, data: out };
}

/** Rows `indices` of a 2-D array (targets), as float32. */
export function takeRows(a: NdArray, indices: ArrayLike<number>): Matrix {
  const cols = a.shape[1] ?? 1;
  const out = new Float32Array(indices.length * cols);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    for (let c = 0; c < cols; c++) out[r * cols + c] = a.data[i * cols + c]!;
  }
  return { rows: indices.length, cols, data: out };
}

/** Indices whose fold id is (or is not) `fold`; holdout rows (−1) are in neither. */
export function foldIndices(folds: NdArray, fold: number): { train: Int32Array; validation: Int32Array } {
  const train: number[] = [];
  const validation: number[] = [];
  for (let i = 0; i < folds.data.length; i++) {
    const f = folds.data[i]!;
    if (f < 0) continue;
    (f === fold ? validation : train).push(i);
  }
  return { train: Int32Array.from(train), validation: Int32Array.from(validation) };
}

/** Number of folds (the largest fold id + 1). */
export function foldCount(folds: NdArray): number {
  let k = 0;
  for (let i = 0; i < folds.data.length; i++) k = Math.max(k, folds.data[i]! + 1);
  return k;
}

/** The x grid a model was trained on: the mean over the curves of X (what `predict` interpolates onto). */
export function trainingGrid(X: ArrayInput): Float64Array {
  const [n, p] = X.shape as [number, number];
  const grid = new Float64Array(p);
  forEachChunk(X, (data, _start, rows) => {
    for (let i = 0; i < rows; i++) for (let j = 0; j < p; j++) grid[j]! += data[i * p + j]! / n;
  });
  return grid;
}
