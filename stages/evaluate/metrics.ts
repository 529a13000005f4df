import type { Matrix } from '../../src/model/features.js';
import { standardizeTargets, type FoldScaler } from '../../src/model/scalers.js';

// The error statistics evaluate reports, as plain arithmetic over matrices (no TF), so
// each formula is tested against hand-computed numbers. Sums run in float64.

/** The per-target errors of a fold, in the order of their metric keys. */
export const ERROR_METRICS = ['rmse', 'mae', 'r2', 'bias'] as const;
export type ErrorMetric = (typeof ERROR_METRICS)[number];

export type TargetErrors = Record<ErrorMetric, number>;

/**
 * RMSE, MAE, R² (1 − SS_res/SS_tot) and bias (mean of prediction − truth) of each
 * column of `pred` against `truth` (same shape, one row per dataset).
 */
export function targetErrors(pred: Matrix, truth: Matrix): TargetErrors[] {
  assertSameShape(pred, truth);
  const { rows, cols } = truth;
  return Array.from({ length: cols }, (_, c) => {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += truth.data[r * cols + c]!;
    mean /= rows;
    let sq = 0;
    let abs = 0;
    let sum = 0;
    let tot = 0;
    for (let r = 0; r < rows; r++) {
      const t = truth.data[r * cols + c]!;
      const e = pred.data[r * cols + c]! - t;
      sq += e * e;
      abs += Math.abs(e);
      sum += e;
      tot += (t - mean) * (t - mean);
    }
    // A constant target has no variance to explain: R² is 1 for an exact fit and 0
    // otherwise (scikit-learn's force_finite), so the metric stays a finite number.
    const r2 = tot > 0 ? 1 - sq / tot : sq === 0 ? 1 : 0;
    return { rmse: Math.sqrt(sq / rows), mae: abs / rows, r2, bias: sum / rows };
  });
}

/** A fold's metrics under their tracking keys: `rmse.<target>`, `mae.<target>`, `r2.<target>`, `bias.<target>`. */
export function foldMetricRecord(
  errors: readonly TargetErrors[],
  targetNames: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of ERROR_METRICS) {
    errors.forEach((e, c) => {
      out[`${m}.${targetNames[c]!}`] = e[m];
    });
  }
  return out;
}

/**
 * Mean and spread of one metric over folds. The std is the sample standard deviation
 * (divisor n − 1, as the spread of a cross-validation score is usually quoted), and 0
 * for a single fold.
 */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0 };
  const ss = values.reduce((a, v) => a + (v - mean) * (v - mean), 0);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/** `<key>.mean` and `<key>.std` over folds for every key of the fold records (all folds have the same keys). */
export function summarizeFolds(perFold: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(perFold[0] ?? {})) {
    const { mean, std } = meanStd(perFold.map((f) => f[key]!));
    out[`${key}.mean`] = mean;
    out[`${key}.std`] = std;
  }
  return out;
}

/**
 * The mean over targets of the RMSE on targets standardised with the fold's
 * training-set scaler (prediction and truth alike): the fold's score in cv_rmse_mean,
 * comparable across targets of different units and across setups.
 */
export function standardizedRmse(scaler: FoldScaler, pred: Matrix, truth: Matrix): number {
  const errors = targetErrors(standardizeTargets(scaler, pred), standardizeTargets(scaler, truth));
  return errors.reduce((a, e) => a + e.rmse, 0) / errors.length;
}

/** The sweep's objective: `cv_rmse_mean` and `cv_rmse_std` over the folds' standardised RMSEs. */
export function cvRmse(perFold: readonly number[]): { cv_rmse_mean: number; cv_rmse_std: number } {
  const { mean, std } = meanStd(perFold);
  return { cv_rmse_mean: mean, cv_rmse_std: std };
}

function assertSameShape(a: Matrix, b: Matrix): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new RangeError(`metrics: predictions are ${a.rows}×${a.cols} but truths are ${b.rows}×${b.cols}`);
  }
  if (a.rows === 0) throw new RangeError('metrics: no rows to score');
}
