import { describe, expect, it } from 'vitest';
import {
  cvRmse,
  foldMetricRecord,
  meanStd,
  standardizedRmse,
  summarizeFolds,
  targetErrors,
} from '../../../stages/evaluate/metrics.js';
import type { Matrix } from '../../../src/model/features.js';
import { foldScaler } from '../../helpers/evaluate-context.js';

function matrix(rows: number[][]): Matrix {
  return { rows: rows.length, cols: rows[0]!.length, data: Float32Array.from(rows.flat()) };
}

const CLOSE = 7;

describe('targetErrors', () => {
  it('computes RMSE, MAE, R² and bias per column by the textbook formulas', () => {
    // Column 0: truth 1, 2, 3 and prediction 2, 2, 5 → errors (pred − truth) 1, 0, 2.
    //   RMSE = √((1 + 0 + 4) / 3) = √(5/3); MAE = 3/3 = 1; bias = 3/3 = 1;
    //   SS_res = 5, SS_tot = (1−2)² + 0 + (3−2)² = 2 → R² = 1 − 5/2 = −1.5.
    // Column 1: truth 10, 20, 30, prediction 8, 20, 30 → errors −2, 0, 0.
    //   RMSE = √(4/3); MAE = 2/3; bias = −2/3; SS_res = 4, SS_tot = 200 → R² = 0.98.
    const [a, b] = targetErrors(
      matrix([
        [2, 8],
        [2, 20],
        [5, 30],
      ]),
      matrix([
        [1, 10],
        [2, 20],
        [3, 30],
      ]),
    );
    expect(a!.rmse).toBeCloseTo(Math.sqrt(5 / 3), CLOSE);
    expect(a!.rmse).toBeCloseTo(1.2909944487, CLOSE);
    expect(a!.mae).toBeCloseTo(1, CLOSE);
    expect(a!.bias).toBeCloseTo(1, CLOSE);
    expect(a!.r2).toBeCloseTo(-1.5, CLOSE);
    expect(b!.rmse).toBeCloseTo(1.1547005384, CLOSE);
    expect(b!.mae).toBeCloseTo(2 / 3, CLOSE);
    expect(b!.bias).toBeCloseTo(-2 / 3, CLOSE);
    expect(b!.r2).toBeCloseTo(0.98, CLOSE);
  });

  it('gives a perfect fit RMSE 0 and R² 1', () => {
    const [e] = targetErrors(matrix([[1], [5], [9]]), matrix([[1], [5], [9]]));
    expect(e).toEqual({ rmse: 0, mae: 0, r2: 1, bias: 0 });
  });

  it('keeps R² finite for a constant target: 1 for an exact fit, 0 otherwise', () => {
    expect(targetErrors(matrix([[4], [4]]), matrix([[4], [4]]))[0]!.r2).toBe(1);
    expect(targetErrors(matrix([[3], [5]]), matrix([[4], [4]]))[0]!.r2).toBe(0);
  });

  it('refuses mismatched shapes and empty folds', () => {
    expect(() => targetErrors(matrix([[1, 2]]), matrix([[1]]))).toThrow(/1×2 but truths are 1×1/);
    expect(() =>
      targetErrors({ rows: 0, cols: 1, data: new Float32Array() }, { rows: 0, cols: 1, data: new Float32Array() }),
    ).toThrow(/no rows/);
  });
});

describe('foldMetricRecord', () => {
  it('keys metrics as <metric>.<target>, per the tracking conventions', () => {
    const errors = targetErrors(
      matrix([
        [2, 8],
        [2, 20],
        [5, 30],
      ]),
      matrix([
        [1, 10],
        [2, 20],
        [3, 30],
      ]),
    );
    const record = foldMetricRecord(errors, ['A', 'B']);
    expect(Object.keys(record)).toEqual(['rmse.A', 'rmse.B', 'mae.A', 'mae.B', 'r2.A', 'r2.B', 'bias.A', 'bias.B']);
    expect(record['r2.A']).toBeCloseTo(-1.5, CLOSE);
    expect(record['bias.B']).toBeCloseTo(-2 / 3, CLOSE);
  });
});

describe('meanStd and summarizeFolds', () => {
  it('uses the sample std (n − 1)', () => {
    // 1, 2, 3, 4: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5 → √(5/3).
    const { mean, std } = meanStd([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(std).toBeCloseTo(1.2909944487, CLOSE);
    // Two folds: |a − b| / √2.
    expect(meanStd([0.5, 0]).std).toBeCloseTo(0.3535533906, CLOSE);
  });

  it('gives std 0 for one fold', () => {
    expect(meanStd([0.7])).toEqual({ mean: 0.7, std: 0 });
  });

  it('names the summary <key>.mean and <key>.std', () => {
    const s = summarizeFolds([
      { 'rmse.A': 1, 'r2.A': 0.5 },
      { 'rmse.A': 3, 'r2.A': 0.7 },
    ]);
    expect(Object.keys(s)).toEqual(['rmse.A.mean', 'rmse.A.std', 'r2.A.mean', 'r2.A.std']);
    expect(s['rmse.A.mean']).toBe(2);
    expect(s['rmse.A.std']).toBeCloseTo(Math.SQRT2, CLOSE);
    expect(s['r2.A.mean']).toBeCloseTo(0.6, CLOSE);
    expect(s['r2.A.std']).toBeCloseTo(0.1414213562, CLOSE);
  });
});

describe('cv_rmse', () => {
  it('standardises prediction and truth with the fold scaler, then averages RMSE over targets', () => {
    // Scaler: means 10, 0; stds 2, 0.5 (standardize: false — used for scoring all the same).
    // Target 0: truth 10, 12 → 0, 1; prediction 11, 12 → 0.5, 1; errors 0.5, 0 → RMSE √(0.25/2) = √0.125.
    // Target 1: truth 0, 1 → 0, 2; prediction 0.5, 0 → 1, 0; errors 1, −2 → RMSE √(5/2) = √2.5.
    // Mean over targets: (0.35355339 + 1.58113883) / 2 = 0.96734611.
    const scaler = foldScaler(null, { mean: [10, 0], std: [2, 0.5], standardize: false });
    const score = standardizedRmse(
      scaler,
      matrix([
        [11, 0.5],
        [12, 0],
      ]),
      matrix([
        [10, 0],
        [12, 1],
      ]),
    );
    expect(score).toBeCloseTo(0.9673461103, CLOSE);
  });

  it('is the mean and sample std of the fold scores', () => {
    expect(cvRmse([0.5, 1, 1.5])).toEqual({ cv_rmse_mean: 1, cv_rmse_std: 0.5 });
    expect(cvRmse([0.8])).toEqual({ cv_rmse_mean: 0.8, cv_rmse_std: 0 });
  });
});
