import { beforeAll, describe, expect, it } from 'vitest';

import { blasThreads, loadAddon, type NativeAddon } from '../../src/backend/native/addon.js';
import { NATIVE_PROBLEM, lcgValues, needsNative } from '../helpers/native.js';

const values = (n: number, seed: number): Float32Array => lcgValues(n, seed);

/** op(A) · op(B) in double precision, the plain way. */
function reference(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
      c[i * n + j] = s;
    }
  return c;
}

// loadAddon() in beforeAll, not in the describe's body: a skipped describe's body still runs
// (to collect its tests), and without the addon it would throw there.
describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('the native addon'), () => {
  let addon: NativeAddon;
  beforeAll(() => {
    addon = loadAddon();
  });

  it('names its BLAS', () => {
    expect(addon.blas()).toMatch(/\S/);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('sgemm transA=%s transB=%s matches a plain product', (ta, tb) => {
    const [m, n, k] = [13, 9, 21];
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    const c = new Float32Array(m * n);
    addon.sgemm(ta ? 1 : 0, tb ? 1 : 0, 1, m, n, k, a, 0, b, 0, c);
    const ref = reference(ta, tb, m, n, k, a, b);
    c.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-5));
  });

  it('reads a typed array at its byte offset (no copy, no misplaced start)', () => {
    const big = values(100, 3);
    const a = big.subarray(10, 16); // 2×3
    const b = big.subarray(50, 56); // 3×2
    const c = new Float32Array(4);
    addon.sgemm(0, 0, 1, 2, 2, 3, a, 0, b, 0, c);
    const ref = reference(false, false, 2, 2, 3, a, b);
    c.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-6));
  });

  // A product above the threading threshold is shared out by rows: results must not depend on
  // the thread count (OpenBLAS's own threading changes them; see native/gemm_threads.c).
  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('large sgemm (transA=%s transB=%s) is bit-identical on 1, 2 and 3 threads', (ta, tb) => {
    const [m, n, k] = [300, 256, 600];
    const a = values(m * k, 4);
    const b = values(k * n, 5);
    const results = [1, 2, 3].map((t) => {
      addon.setThreads(t);
      const c = new Float32Array(m * n);
      addon.sgemm(ta ? 1 : 0, tb ? 1 : 0, 1, m, n, k, a, 0, b, 0, c);
      return Buffer.from(c.buffer).toString('base64');
    });
    addon.setThreads(blasThreads());
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
  });

  it('refuses arrays too small for the sizes given, instead of reading past them', () => {
    expect(() =>
      addon.sgemm(0, 0, 1, 4, 4, 4, new Float32Array(15), 0, new Float32Array(16), 0, new Float32Array(16)),
    ).toThrow(RangeError);
    expect(() =>
      addon.binary(
        0,
        new Float32Array(2),
        Int32Array.of(1),
        new Float32Array(3),
        Int32Array.of(1),
        new Float32Array(3),
        Int32Array.of(3),
      ),
    ).toThrow(RangeError);
    expect(() => addon.reduce(0, new Float32Array(5), 2, 3, 1, new Float32Array(2))).toThrow(RangeError);
    expect(() => addon.unary(0, new Float32Array(5), new Float32Array(4), 0)).toThrow(RangeError);
    expect(() =>
      addon.sgemm(0, 0, 1, 1, 1, 1, [1] as unknown as Float32Array, 0, new Float32Array(1), 0, new Float32Array(1)),
    ).toThrow(TypeError);
  });
});

// Plain arithmetic on the environment: runs with or without the addon.
describe('blasThreads', () => {
  it('takes its thread count from PARAMFLOW_BLAS_THREADS, then OPENBLAS_NUM_THREADS, then the cores', () => {
    expect(blasThreads({ PARAMFLOW_BLAS_THREADS: '3', OPENBLAS_NUM_THREADS: '2' })).toBe(3);
    expect(blasThreads({ OPENBLAS_NUM_THREADS: '2' })).toBe(2);
    // A bad value of ours is refused with its name (issue 18 item 15), not silently ignored.
    expect(() => blasThreads({ PARAMFLOW_BLAS_THREADS: 'x' })).toThrow(/PARAMFLOW_BLAS_THREADS must be a whole number/);
  });
});
