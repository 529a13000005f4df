import { describe, expect, it } from 'vitest';
import { fitCurveScaler, fitScaler, scaledCurveFeatures, scaleInputs } from '../../src/model/scalers.js';
import { curveFeatures, type Matrix } from '../../src/model/features.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';

function matrix(rows: number, cols: number, seed: number): Matrix {
  const data = new Float32Array(rows * cols);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = (i % cols < cols / 2 ? 10 : -3) + (s / 2147483648) * 4;
  }
  return { rows, cols, data };
}

describe('scaleInputs per-block', () => {
  it('scales the x half by the x statistics and the y half by the y statistics, value for value as (v - mean) / std', () => {
    const m = matrix(37, 2 * 25, 7);
    const t = matrix(37, 4, 3);
    const s = fitScaler(m, t, 'per-block', true);
    const { mean, std } = s.inputs as { mean: number[]; std: number[] };
    expect(mean[0]).toBeGreaterThan(mean[1]!); // the two blocks were drawn around 10 and -3
    const out = scaleInputs(s, m);
    const want = Float32Array.from(
      m.data,
      (v, i) => (v - mean[i % m.cols < m.cols / 2 ? 0 : 1]!) / std[i % m.cols < m.cols / 2 ? 0 : 1]!,
    );
    expect(Buffer.from(out.data.buffer)).toEqual(Buffer.from(want.buffer));
    // Standardised: each block's mean ≈ 0 and std ≈ 1.
    const xs = Array.from(out.data).filter((_, i) => i % m.cols < m.cols / 2);
    const avg = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(avg)).toBeLessThan(1e-5);
    expect(Math.sqrt(xs.reduce((a, b) => a + (b - avg) ** 2, 0) / xs.length)).toBeCloseTo(1, 4);
  });
});

describe('per-block scaling straight from X and Y (train, evaluate, predict)', () => {
  const [n, p] = [41, 30];
  const curves = (seed: number) => matrix(n, p, seed);
  const nd = (m: Matrix, dtype: 'float32' | 'float64' = 'float32') =>
    ndarray(dtype, [m.rows, m.cols], dtype === 'float32' ? m.data : Float64Array.from(m.data, (v) => v * 1.000000001));
  const rows = Int32Array.from([40, 3, 17, 0, 22, 9, 31]);

  it.each(['float32', 'float64'] as const)(
    'gives the bits of fitScaler + scaleInputs over curveFeatures (%s curves)',
    (dtype) => {
      const [X, Y] = [nd(curves(5), dtype), nd(curves(6), dtype)];
      const t = matrix(rows.length, 4, 3);
      for (const mode of ['per-block', 'per-feature', 'per-curve', 'none'] as const) {
        const old = fitScaler(curveFeatures(X, Y, rows), t, mode, true);
        const now = fitCurveScaler(X, Y, rows, t, mode, true);
        expect(now, mode).toEqual(old);
        for (const take of [rows, undefined]) {
          const want = scaleInputs(old, curveFeatures(X, Y, take));
          const got = scaledCurveFeatures(now, X, Y, take);
          expect([got.rows, got.cols]).toEqual([want.rows, want.cols]);
          expect(
            Buffer.from(got.data.buffer).equals(Buffer.from(want.data.buffer)),
            `${mode}, ${take ? 'some' : 'all'} rows`,
          ).toBe(true);
        }
      }
    },
  );
});
