import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import type { NdArray, StageInputs } from '../../src/stage-contract/types.js';
import { addNoise, type AddNoiseParams } from '../../stages/add-noise/index.js';
import { fakeContext } from '../helpers/stage-context.js';
import { compileStageSchema, validateWith } from '../helpers/stage-schema.js';
import { bytesOf, mean, meanTolerance, std, stdTolerance } from '../helpers/stats.js';

type Float = 'float32' | 'float64';

/** n curves of `points` values: X = j, Y = f(i, j). */
function curves(n: number, points: number, f: (i: number, j: number) => number, dtype: Float = 'float64'): StageInputs {
  const X = ndarray(dtype, [n, points]);
  const Y = ndarray(dtype, [n, points]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < points; j++) {
      X.data[i * points + j] = j;
      Y.data[i * points + j] = f(i, j);
    }
  }
  return { X, Y, targets: ndarray('float32', [n, 1]) };
}

// Curves of very different sizes (amplitude 1…20, with an offset), so relative noise is visibly per curve.
const varied = (n: number, points: number, dtype: Float = 'float64') =>
  curves(n, points, (i, j) => (1 + (i % 20)) * Math.sin(0.3 * j + i) + 0.5, dtype);

async function run(
  inputs: StageInputs,
  params: AddNoiseParams,
  seed = 3,
): Promise<Record<'X' | 'Y' | 'targets', NdArray>> {
  return (await addNoise.run(inputs, params, fakeContext({ seed }))).outputs as Record<'X' | 'Y' | 'targets', NdArray>;
}

function rmsOfRow(a: NdArray, i: number): number {
  const points = a.shape[1]!;
  let s = 0;
  for (let j = 0; j < points; j++) s += a.data[i * points + j]! ** 2;
  return Math.sqrt(s / points);
}

/** (noisy - clean) / scale(i) for every value, scale per curve. */
function residuals(clean: NdArray, noisy: NdArray, scale: (i: number) => number = () => 1): number[] {
  const points = clean.shape[1]!;
  return Array.from(noisy.data, (v, idx) => (v - clean.data[idx]!) / scale(Math.floor(idx / points)));
}

describe('add-noise without noise', () => {
  it('passes every input through when with: is empty', async () => {
    const inputs = varied(10, 20);
    const out = await run(inputs, {});
    expect(out.X).toBe(inputs.X);
    expect(out.Y).toBe(inputs.Y);
    expect(out.targets).toBe(inputs.targets);
  });

  it('treats zero levels as no noise', async () => {
    const inputs = varied(10, 20, 'float32');
    const out = await run(inputs, {
      x_jitter: { sigma: 0 },
      gaussian: { relative: 0 },
      outliers: { rate: 0, scale: 5 },
    });
    expect(bytesOf(out.X.data).equals(bytesOf((inputs.X as NdArray).data))).toBe(true);
    expect(bytesOf(out.Y.data).equals(bytesOf((inputs.Y as NdArray).data))).toBe(true);
  });
});

describe('add-noise statistics', () => {
  const n = 200;
  const points = 100;
  const m = n * points;

  it('gaussian sigma: residuals have mean 0 and std sigma', async () => {
    const inputs = curves(n, points, () => 5);
    const r = residuals(inputs.Y as NdArray, (await run(inputs, { gaussian: { sigma: 0.3 } })).Y);
    expect(Math.abs(mean(r))).toBeLessThan(meanTolerance(0.3, m));
    expect(Math.abs(std(r) - 0.3)).toBeLessThan(stdTolerance(0.3, m));
  });

  it('gaussian relative: residual std is relative × each curve’s RMS', async () => {
    const inputs = varied(n, points);
    const clean = inputs.Y as NdArray;
    const r = residuals(
      clean,
      (await run(inputs, { gaussian: { relative: 0.05 } })).Y,
      (i) => 0.05 * rmsOfRow(clean, i),
    );
    expect(Math.abs(mean(r))).toBeLessThan(meanTolerance(1, m));
    expect(Math.abs(std(r) - 1)).toBeLessThan(stdTolerance(1, m));
  });

  it('snr: residual std is RMS / 10^(db/20)', async () => {
    const inputs = varied(n, points);
    const clean = inputs.Y as NdArray;
    const r = residuals(clean, (await run(inputs, { snr: { db: 20 } })).Y, (i) => rmsOfRow(clean, i) / 10);
    expect(Math.abs(std(r) - 1)).toBeLessThan(stdTolerance(1, m));
  });

  it('poisson: counts have mean and variance y·scale, and negative y count as 0', async () => {
    const inputs = curves(n, points, (i) => (i === 0 ? -2 : 3));
    const noisy = (await run(inputs, { poisson: { scale: 2 } })).Y;
    const counts = Array.from(noisy.data.subarray(points), (v) => v * 2);
    expect(counts.every(Number.isInteger)).toBe(true);
    const lambda = 6;
    // Variance of the sample variance of Poisson(λ): (μ4 - σ⁴)/m with μ4 = λ(1 + 3λ).
    const varSe = Math.sqrt((lambda * (1 + 3 * lambda) - lambda ** 2) / counts.length);
    expect(Math.abs(mean(counts) - lambda)).toBeLessThan(meanTolerance(Math.sqrt(lambda), counts.length));
    expect(Math.abs(std(counts) ** 2 - lambda)).toBeLessThan(5 * varSe);
    expect([...noisy.data.subarray(0, points)].every((v) => v === 0)).toBe(true);
  });

  it('outliers: a rate-sized fraction of points moves by exactly ± scale × RMS', async () => {
    const inputs = varied(n, points);
    const clean = inputs.Y as NdArray;
    const r = residuals(
      clean,
      (await run(inputs, { outliers: { rate: 0.05, scale: 10 } })).Y,
      (i) => 10 * rmsOfRow(clean, i),
    );
    const hits = r.filter((v) => v !== 0);
    expect(hits.every((v) => Math.abs(Math.abs(v) - 1) < 1e-9)).toBe(true);
    expect(Math.abs(hits.length / m - 0.05)).toBeLessThan(5 * Math.sqrt((0.05 * 0.95) / m));
    const up = hits.filter((v) => v > 0).length;
    expect(Math.abs(up / hits.length - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / hits.length));
  });

  it('x_jitter: X moves by N(0, sigma²), Y is untouched', async () => {
    const inputs = varied(n, points);
    const out = await run(inputs, { x_jitter: { sigma: 0.2 } });
    const r = residuals(inputs.X as NdArray, out.X);
    expect(Math.abs(mean(r))).toBeLessThan(meanTolerance(0.2, m));
    expect(Math.abs(std(r) - 0.2)).toBeLessThan(stdTolerance(0.2, m));
    expect(out.Y).toBe(inputs.Y);
  });
});

describe('add-noise composition and determinism', () => {
  const all: AddNoiseParams = {
    x_jitter: { sigma: 0.01 },
    poisson: { scale: 50 },
    gaussian: { relative: 0.02 },
    snr: { db: 30 },
    outliers: { rate: 0.01, scale: 5 },
  };

  it('gives identical bytes for a seed and different ones for another seed', async () => {
    const inputs = varied(50, 40, 'float32');
    const [a, b, c] = [await run(inputs, all, 11), await run(inputs, all, 11), await run(inputs, all, 12)];
    for (const key of ['X', 'Y'] as const) {
      expect(bytesOf(a[key].data).equals(bytesOf(b[key].data))).toBe(true);
      expect(bytesOf(a[key].data).equals(bytesOf(c[key].data))).toBe(false);
    }
    expect(a.Y.dtype).toBe('float32');
    expect(a.targets).toBe(inputs.targets);
  });

  it('keeps float64 inputs float64', async () => {
    expect((await run(varied(4, 8), all)).Y.dtype).toBe('float64');
  });

  it('draws each kind from its own stream: adding outliers leaves the gaussian draws unchanged', async () => {
    const inputs = varied(50, 40);
    const clean = inputs.Y as NdArray;
    const gaussianOnly = (await run(inputs, { gaussian: { sigma: 0.1 } })).Y;
    const both = (await run(inputs, { gaussian: { sigma: 0.1 }, outliers: { rate: 0.05, scale: 10 } })).Y;
    const diff = residuals(gaussianOnly, both, (i) => 10 * rmsOfRow(clean, i));
    expect(diff.every((v) => v === 0 || Math.abs(Math.abs(v) - 1) < 1e-9)).toBe(true);
    expect(diff.some((v) => v !== 0)).toBe(true);
  });

  it('nests outliers: those at a lower rate are among those at a higher rate', async () => {
    const inputs = varied(50, 40);
    const clean = inputs.Y as NdArray;
    const low = residuals(clean, (await run(inputs, { outliers: { rate: 0.02, scale: 3 } })).Y);
    const high = residuals(clean, (await run(inputs, { outliers: { rate: 0.1, scale: 3 } })).Y);
    expect(low.every((v, i) => v === 0 || v === high[i])).toBe(true);
  });
});

describe('add-noise inputs and run behaviour', () => {
  it('refuses X and Y of different shapes', async () => {
    const inputs = { ...varied(4, 8), Y: ndarray('float64', [4, 9]) };
    await expect(run(inputs, {})).rejects.toThrow(/X is \[4, 8\] but Y is \[4, 9\]/);
  });

  it('names a missing input', async () => {
    const { X, Y } = varied(4, 8);
    try {
      await run({ X: X!, Y: Y! }, {});
      expect.unreachable();
    } catch (e) {
      expect((e as ParamflowError).code).toBe('PF_INPUT_MISSING');
      expect((e as ParamflowError).message).toContain('targets');
    }
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    await expect(
      addNoise.run(varied(4, 8), { gaussian: { sigma: 1 } }, fakeContext({ signal: ac.signal })),
    ).rejects.toThrow('interrupted');
  });

  it('ends progress at the number of curves', async () => {
    const ctx = fakeContext();
    await addNoise.run(varied(300, 4), { gaussian: { sigma: 1 } }, ctx);
    expect(ctx.progressCalls.length).toBeLessThanOrEqual(101);
    expect(ctx.progressCalls.at(-1)).toEqual({ done: 300, total: 300, unit: 'curves' });
  });
});

describe('add-noise schema', () => {
  const validate = compileStageSchema('add-noise');

  it('accepts empty and composed with:', async () => {
    expect(validateWith(validate, {}).ok).toBe(true);
    const composed = {
      x_jitter: { sigma: 0.01 },
      poisson: { scale: 100 },
      gaussian: { sigma: 0 },
      snr: { db: -3 },
      outliers: { rate: 1, scale: 0.5 },
    };
    const r = validateWith(validate, composed);
    expect(validate.errors).toBeNull();
    expect(r.value).toEqual(composed);
  });

  it.each([
    ['both sigma and relative', { gaussian: { sigma: 1, relative: 0.1 } }, '/gaussian'],
    ['neither sigma nor relative', { gaussian: {} }, '/gaussian'],
    ['negative relative', { gaussian: { relative: -0.1 } }, '/gaussian/relative'],
    ['poisson scale 0', { poisson: { scale: 0 } }, '/poisson/scale'],
    ['outlier rate above 1', { outliers: { rate: 1.5, scale: 1 } }, '/outliers/rate'],
    ['outliers without scale', { outliers: { rate: 0.1 } }, '/outliers'],
    ['snr without db', { snr: {} }, '/snr'],
    ['misspelt kind', { gausian: { sigma: 1 } }, ''],
    ['negative x jitter', { x_jitter: { sigma: -1 } }, '/x_jitter/sigma'],
  ])('refuses %s', (_name, value, pointer) => {
    expect(validateWith(validate, value).ok).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain(pointer);
  });
});
