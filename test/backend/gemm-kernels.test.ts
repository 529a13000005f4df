import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

import { addonPath, blasThreads, loadAddon, nativeProblem, type NativeAddon } from '../../src/backend/native/addon.js';
import { lcgValues } from '../helpers/native.js';

// paramflow's own GEMM (native/gemm.c) fixes its arithmetic: every output is an fma chain over
// k in increasing order, so each micro-kernel, and any thread count, must give the same bits,
// and each must be as close to the exact product as that chain allows.

const problem = nativeProblem();
const addon: NativeAddon | undefined = problem ? undefined : loadAddon();
const ownGemm = addon !== undefined && addon.gemmKernel() !== 'openblas';

const values = (n: number, seed: number): Float32Array => lcgValues(n, seed);

/** op(A) · op(B) in float64, with Σ|a||b| per element for the error bound. */
function reference(ta: boolean, tb: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array) {
  const exact = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        const x = a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
        s += x;
        mag += Math.abs(x);
      }
      exact[i * n + j] = s;
      magnitude[i * n + j] = mag;
    }
  return { exact, magnitude };
}

function product(
  kernel: string,
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
): Float32Array {
  addon!.setGemmKernel(kernel);
  const c = new Float32Array(m * n).fill(Number.NaN); // every element must be written
  addon!.sgemm(ta ? 1 : 0, tb ? 1 : 0, 1, m, n, k, a, 0, b, 0, c);
  return c;
}

const bits = (c: Float32Array) => Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('base64');

// Odd shapes: 1×1, primes, sizes one off the kernels' tiles (8×32, 6×16, 8×8, 4×4) and the
// k-block (256), and the seed study's shapes.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [13, 1, 5],
  [7, 13, 29],
  [9, 33, 257],
  [17, 31, 513],
  [64, 64, 2000],
  [2000, 64, 64],
  [64, 2000, 4],
];
const CASES = SHAPES.flatMap((s) =>
  [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ].map(([ta, tb]) => [...s, ta!, tb!] as const),
);

const notOwn =
  problem ?? (ownGemm ? undefined : 'the installed addon is an opt-in OpenBLAS build (PARAMFLOW_BLAS=openblas)');
describe.skipIf(!ownGemm)(`paramflow's GEMM kernels${notOwn ? ` (skipped: ${notOwn})` : ''}`, () => {
  const kernels = addon?.gemmKernels() ?? [];

  it('lists the scalar kernel and the one in use on this CPU', () => {
    expect(kernels).toContain('scalar');
    expect(kernels).toContain(addon!.gemmKernel());
  });

  it.each(CASES)(
    "%i×%i×%i (transA=%s transB=%s): every kernel within the fma chain's bound, all the same bits",
    (m, n, k, ta, tb) => {
      const a = values(m * k, m * 31 + k);
      const b = values(k * n, n * 17 + k);
      const { exact, magnitude } = reference(ta, tb, m, n, k, a, b);
      const results = kernels.map((kernel) => product(kernel, ta, tb, m, n, k, a, b));
      addon!.setGemmKernel(kernels[0]!);
      // k roundings of at most half an ulp each, relative to the partial sums' magnitudes.
      const u = 2 ** -24;
      results[0]!.forEach((v, i) =>
        expect(Math.abs(v - exact[i]!)).toBeLessThanOrEqual(k * u * 1.01 * magnitude[i]! + 1e-30),
      );
      for (const [i, c] of results.entries()) expect(bits(c), kernels[i]).toBe(bits(results[0]!));
    },
  );

  it('gives the same bits on 1, 2 and 3 threads with each kernel (rows shared out)', () => {
    const [m, n, k] = [301, 96, 700];
    const a = values(m * k, 4);
    const b = values(k * n, 5);
    const seen = new Set<string>();
    for (const kernel of kernels)
      for (const threads of [1, 2, 3]) {
        addon!.setThreads(threads);
        seen.add(bits(product(kernel, false, true, m, n, k, a, b)));
      }
    addon!.setThreads(blasThreads());
    addon!.setGemmKernel(kernels[0]!);
    expect(seen.size).toBe(1);
  });

  it('refuses a kernel this CPU cannot run, naming the ones it can', () => {
    expect(() => addon!.setGemmKernel('no-such-kernel')).toThrow(/cannot run on this CPU \(it runs: .*scalar\)/);
    expect(addon!.gemmKernel()).toBe(kernels[0]);
  });

  it('PARAMFLOW_GEMM_KERNEL picks the kernel at load time, and a bad name fails the load with the reason', async () => {
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addonPath())}); console.log(m.exports.gemmKernel());`;
    const ok = await execa(process.execPath, ['-e', script], {
      env: { PARAMFLOW_GEMM_KERNEL: 'scalar' },
      reject: false,
    });
    expect(ok.stdout.trim()).toBe('scalar');
    const bad = await execa(process.execPath, ['-e', script], {
      env: { PARAMFLOW_GEMM_KERNEL: 'sse9' },
      reject: false,
    });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('PARAMFLOW_GEMM_KERNEL: GEMM kernel sse9 cannot run on this CPU');
  });
});

describe.skipIf(addon === undefined)(
  `the addon's floating-point mode${problem ? ` (skipped: ${problem})` : ''}`,
  () => {
    it('flushes a subnormal float32 product to zero inside a call', () => {
      expect(addon!.multiply(1e-20, 1e-20)).toBe(0); // 1e-40 is subnormal in float32
      expect(addon!.multiply(2e-19, 2e-19)).toBe(Math.fround(Math.fround(2e-19) * Math.fround(2e-19))); // normals stay
    });

    it("restores the caller's mode: JavaScript keeps its subnormals after the call", () => {
      addon!.multiply(1, 1);
      const tiny = values(2, 9).map((v) => Math.abs(v) * 1e-39); // subnormal float32s, made at run time
      expect(Math.fround(tiny[0]! * tiny[1]! * 1e39)).toBeGreaterThan(0);
      expect(new Float32Array([2 ** -140])[0]).toBe(2 ** -140);
    });
  },
);
