import type { Matrix } from './features.js';

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
  const mean = new Float64Array(m.cols);
  const sq = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) mean[c]! += m.data[r * m.cols + c]!;
  }
  for (let c = 0; c < m.cols; c++) mean[c] = mean[c]! / Math.max(1, m.rows);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const d = m.data[r * m.cols + c]! - mean[c]!;
      sq[c]! += d * d;
    }
  }
  // A constant column (std 0) is centred but not scaled.
  const std = Array.from(sq, (s) => {
    const v = Math.sqrt(s / Math.max(1, m.rows));
    return v > EPS ? v : 1;
  });
  return { mean: Array.from(mean), std };
}

/** One mean and std over all x values (first half of the columns) and one over all y values. */
function blockStats(m: Matrix): { mean: number[]; std: number[] } {
  const half = m.cols / 2;
  const stats = [0, half].map((start) => {
    let sum = 0;
    let sq = 0;
    for (let r = 0; r < m.rows; r++) for (let c = start; c < start + half; c++) sum += m.data[r * m.cols + c]!;
    const mean = sum / Math.max(1, m.rows * half);
    for (let r = 0; r < m.rows; r++) for (let c = start; c < start + half; c++) sq += (m.data[r * m.cols + c]! - mean) ** 2;
    const std = Math.sqrt(sq / Math.max(1, m.rows * half));
    return { mean, std: std > EPS ? std : 1 };
  });
  return { mean: stats.map((s) => s.mean), std: stats.map((s) => s.std) };
}

/** Fits a fold's scaler on its training rows (`features` and `targets` hold only those rows). */
export function fitScaler(features: Matrix, targets: Matrix, mode: InputMode, standardizeTargets: boolean): FoldScaler {
  const inputs =
    mode === 'per-feature' ? { mode, ...columnStats(features) } : mode === 'per-block' ? { mode, ...blockStats(features) } : { mode, mean: null, std: null };
  return { inputs, targets: { ...columnStats(targets), standardize: standardizeTargets } };
}

/** Standardised copy of the features. `per-curve` scales each curve's x half and y half by their own mean and std. */
export function scaleInputs(s: FoldScaler, m: Matrix): Matrix {
  const out = new Float32Array(m.data.length);
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
        const part = m.data.subarray(start, start + half);
        let mean = 0;
        for (const v of part) mean += v;
        mean /= half;
        let sq = 0;
        for (const v of part) sq += (v - mean) * (v - mean);
        const std = Math.sqrt(sq / half) > EPS ? Math.sqrt(sq / half) : 1;
        for (let j = 0; j < half; j++) out[start + j] = (part[j]! - mean) / std;
      }
    }
  } else {
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
