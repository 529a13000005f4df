import { addonIfAvailable } from '../backend/native/addon.js';
import type { NdArray } from '../stage-contract/types.js';
import { curveFeatures, type Matrix } from './features.js';

// Standardisation fitted on a fold's training rows only (never on its validation rows:
// that would leak), stored with the model so evaluate and predict apply the same one.

export type InputMode = 'per-feature' | 'per-block' | 'per-curve' | 'none';

export interface FoldScaler {
  inputs: { mode: InputMode; mean: number[] | null; std: number[] | null };
  /**
   * Always fitted (cv_rmse_mean is measured on targets standardised with them);
   * `standardize` says whether the network was trained on standardised targets.
   */
  targets: { mean: number[]; std: number[]; standardize: boolean };
}

/** The `scalers` output of train: one scaler per fold. */
export interface Scalers {
  format: 1;
  features: number;
  targetNames: string[];
  folds: FoldScaler[];
}

const EPS = 1e-12;

function columnStats(m: Matrix): { mean: number[]; std: number[] } {
  return chunkedColumnStats(m.rows, m.cols, (visit) => visit(m));
}

/** Row chunks of a matrix, first to last, given to `visit` (twice: a mean pass, then a variance pass). */
export type MatrixChunks = (visit: (m: Matrix) => void) => void;

/**
 * Each column's mean and std over `rows` rows met in chunks: the same sums in the same order
 * (row by row) as over one matrix, so the same bits however the rows are chunked.
 */
export function chunkedColumnStats(
  rows: number,
  cols: number,
  chunks: MatrixChunks,
): { mean: number[]; std: number[] } {
  const mean = new Float64Array(cols);
  const sq = new Float64Array(cols);
  chunks((m) => {
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < cols; c++) mean[c]! += m.data[r * cols + c]!;
    }
  });
  for (let c = 0; c < cols; c++) mean[c] = mean[c]! / Math.max(1, rows);
  chunks((m) => {
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < cols; c++) {
        const d = m.data[r * cols + c]! - mean[c]!;
        sq[c]! += d * d;
      }
    }
  });
  // A constant column (std 0) is centred but not scaled.
  const std = Array.from(sq, (s) => {
    const v = Math.sqrt(s / Math.max(1, rows));
    return v > EPS ? v : 1;
  });
  return { mean: Array.from(mean), std };
}

export interface Block {
  data: Float32Array;
  /** Where each row's `width` values start. */
  starts: ArrayLike<number>;
}

/** Pairs of blocks (rows of x values, rows of y values) met in chunks, first to last. */
export type BlockChunks = (visit: (a: Block, b: Block) => void) => void;

/**
 * Mean and std of each of two blocks of values: `width` values from each of their rows' starts,
 * summed in that order (row by row, then along the row), in double. The two sums run side by
 * side, one chain each: the same bits as one block at a time, in about half the time (a chain
 * of dependent additions is bound by their latency). The rows may come in chunks: each chain
 * goes on from one chunk to the next, so the bits do not depend on the chunks.
 */
export function blockPairStats(rows: number, width: number, chunks: BlockChunks): { mean: number[]; std: number[] } {
  const count = Math.max(1, rows * width);
  let [sa, sb] = [0, 0];
  chunks((a, b) => {
    let [x, y] = [sa, sb];
    for (let r = 0; r < a.starts.length; r++)
      for (let i = a.starts[r]!, k = b.starts[r]!, end = i + width; i < end; i++, k++) {
        x += a.data[i]!;
        y += b.data[k]!;
      }
    [sa, sb] = [x, y];
  });
  const [ma, mb] = [sa / count, sb / count];
  let [qa, qb] = [0, 0];
  chunks((a, b) => {
    let [x, y] = [qa, qb];
    for (let r = 0; r < a.starts.length; r++)
      for (let i = a.starts[r]!, k = b.starts[r]!, end = i + width; i < end; i++, k++) {
        const da = a.data[i]! - ma;
        const db = b.data[k]! - mb;
        x += da * da;
        y += db * db;
      }
    [qa, qb] = [x, y];
  });
  const std = [qa, qb].map((q) => Math.sqrt(q / count)).map((v) => (v > EPS ? v : 1));
  return { mean: [ma, mb], std };
}

/** One mean and std over all x values (first half of the columns) and one over all y values. */
function blockStats(m: Matrix): { mean: number[]; std: number[] } {
  const half = m.cols / 2;
  const starts = (offset: number) => Int32Array.from({ length: m.rows }, (_, r) => r * m.cols + offset);
  return blockPairStats(m.rows, half, (visit) =>
    visit({ data: m.data, starts: starts(0) }, { data: m.data, starts: starts(half) }),
  );
}

/** Fits a fold's scaler on its training rows (`features` and `targets` hold only those rows). */
export function fitScaler(features: Matrix, targets: Matrix, mode: InputMode, standardizeTargets: boolean): FoldScaler {
  const inputs =
    mode === 'per-feature'
      ? { mode, ...columnStats(features) }
      : mode === 'per-block'
        ? { mode, ...blockStats(features) }
        : { mode, mean: null, std: null };
  return { inputs, targets: { ...columnStats(targets), standardize: standardizeTargets } };
}

/** In place reads give curveFeatures' values only when X and Y already are float32 (it rounds to float32). */
function float32(X: NdArray, Y: NdArray): boolean {
  return X.data instanceof Float32Array && Y.data instanceof Float32Array;
}

/**
 * fitScaler on the curve features of rows `indices` of X and Y (curveFeatures), without
 * building them when the mode allows (per-block reads X and Y in place: the same sums in the
 * same order, so the same bits, without an 80 MB copy per fold).
 */
export function fitCurveScaler(
  X: NdArray,
  Y: NdArray,
  indices: ArrayLike<number>,
  targets: Matrix,
  mode: InputMode,
  standardizeTargets: boolean,
): FoldScaler {
  if (mode !== 'per-block' || !float32(X, Y))
    return fitScaler(curveFeatures(X, Y, indices), targets, mode, standardizeTargets);
  const p = X.shape[1]!;
  const starts = Int32Array.from(indices, (i) => i * p);
  const stats = blockPairStats(starts.length, p, (visit) =>
    visit({ data: X.data as Float32Array, starts }, { data: Y.data as Float32Array, starts }),
  );
  return { inputs: { mode, ...stats }, targets: { ...columnStats(targets), standardize: standardizeTargets } };
}

/**
 * scaleInputs(s, curveFeatures(X, Y, indices)) in one pass when the mode allows (per-block:
 * each value scaled straight from X or Y, the same arithmetic, so the same bits; by the addon's
 * scaleRows where it is built, whose bits equal the JavaScript loop's), written into
 * `into` when given (a buffer reused across folds: fresh 80 MB arrays cost more in page faults
 * than the scaling itself).
 */
export function scaledCurveFeatures(
  s: FoldScaler,
  X: NdArray,
  Y: NdArray,
  indices?: ArrayLike<number>,
  into?: Float32Array,
): Matrix {
  if (s.inputs.mode !== 'per-block' || !float32(X, Y)) return scaleInputs(s, curveFeatures(X, Y, indices));
  const p = X.shape[1]!;
  const take = indices ?? Int32Array.from({ length: X.shape[0]! }, (_, i) => i);
  const [x, y] = [X.data as Float32Array, Y.data as Float32Array];
  const [mx, my, sx, sy] = [...(s.inputs.mean as number[]), ...(s.inputs.std as number[])] as [
    number,
    number,
    number,
    number,
  ];
  const out = into ? into.subarray(0, take.length * 2 * p) : new Float32Array(take.length * 2 * p);
  const addon = addonIfAvailable();
  if (addon) {
    const rows = take instanceof Int32Array ? take : Int32Array.from(take);
    addon.scaleRows(x, rows, p, mx, sx, out, 2 * p, 0);
    addon.scaleRows(y, rows, p, my, sy, out, 2 * p, p);
    return { rows: take.length, cols: 2 * p, data: out };
  }
  for (let r = 0; r < take.length; r++) {
    const from = take[r]! * p;
    const to = 2 * r * p;
    for (let j = 0; j < p; j++) out[to + j] = (x[from + j]! - mx) / sx;
    for (let j = 0; j < p; j++) out[to + p + j] = (y[from + j]! - my) / sy;
  }
  return { rows: take.length, cols: 2 * p, data: out };
}

/**
 * Standardised copy of the features (into `into` when given: it may be `m.data` itself).
 * `per-curve` scales each curve's x half and y half by their own mean and std.
 */
export function scaleInputs(s: FoldScaler, m: Matrix, into?: Float32Array): Matrix {
  const out = into ? into.subarray(0, m.data.length) : new Float32Array(m.data.length);
  if (s.inputs.mode === 'per-feature') {
    const { mean, std } = s.inputs as { mean: number[]; std: number[] };
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < m.cols; c++) out[r * m.cols + c] = (m.data[r * m.cols + c]! - mean[c]!) / std[c]!;
    }
  } else if (s.inputs.mode === 'per-block') {
    const { mean, std } = s.inputs as { mean: number[]; std: number[] };
    const cut = Math.ceil(m.cols / 2);
    const [mx, my, sx, sy] = [mean[0]!, mean[1]!, std[0]!, std[1]!];
    // Row by row, one half at a time: no per-value modulo (the hot path of a large study's train stage).
    for (let start = 0; start < m.data.length; start += m.cols) {
      for (let i = start; i < start + cut; i++) out[i] = (m.data[i]! - mx) / sx;
      for (let i = start + cut; i < start + m.cols; i++) out[i] = (m.data[i]! - my) / sy;
    }
  } else if (s.inputs.mode === 'per-curve') {
    const half = m.cols / 2;
    for (let r = 0; r < m.rows; r++) {
      for (const start of [r * m.cols, r * m.cols + half]) {
        // A copy when scaling in place: the row's values are read after the first is written.
        const part = out === m.data ? m.data.slice(start, start + half) : m.data.subarray(start, start + half);
        let mean = 0;
        for (const v of part) mean += v;
        mean /= half;
        let sq = 0;
        for (const v of part) sq += (v - mean) * (v - mean);
        const std = Math.sqrt(sq / half) > EPS ? Math.sqrt(sq / half) : 1;
        for (let j = 0; j < half; j++) out[start + j] = (part[j]! - mean) / std;
      }
    }
  } else if (out !== m.data) {
    out.set(m.data);
  }
  return { rows: m.rows, cols: m.cols, data: out };
}

/** Targets as the network sees them (standardised if it was trained so). */
export function scaleTargets(s: FoldScaler, t: Matrix): Matrix {
  return s.targets.standardize ? standardizeTargets(s, t) : t;
}

/** Targets standardised with the fold's training-set statistics, whatever the network saw. */
export function standardizeTargets(s: FoldScaler, t: Matrix): Matrix {
  const { mean, std } = s.targets;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = (t.data[i]! - mean[i % t.cols]!) / std[i % t.cols]!;
  return { rows: t.rows, cols: t.cols, data: out };
}

/** Predictions back in the targets' own units. */
export function unscaleTargets(s: FoldScaler, t: Matrix): Matrix {
  if (!s.targets.standardize) return t;
  const { mean, std } = s.targets;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = t.data[i]! * std[i % t.cols]! + mean[i % t.cols]!;
  return { rows: t.rows, cols: t.cols, data: out };
}
