import { beforeAll, describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import type { NdArray } from '../../src/stage-contract/types.js';
import { checkSimulateParams, simulate, type ModelName, type SimulateParams } from '../../stages/simulate/index.js';
import { fakeContext } from '../helpers/stage-context.js';
import { compileStageSchema, validateWith } from '../helpers/stage-schema.js';
import { bytesOf, column, mean, meanTolerance, std, stdTolerance } from '../helpers/stats.js';

async function run(params: SimulateParams, seed = 7): Promise<{ X: NdArray; Y: NdArray; targets: NdArray }> {
  const out = (await simulate.run({}, params, fakeContext({ seed }))) as { outputs: Record<string, NdArray> };
  return { X: out.outputs.X!, Y: out.outputs.Y!, targets: out.outputs.targets! };
}

function base(overrides: Partial<SimulateParams> = {}): SimulateParams {
  return {
    n: 50,
    model: 'damped-sine',
    x: { start: 0, stop: 10, points: 30, jitter: 0 },
    params: { A: { uniform: [0.5, 2] }, B: { loguniform: [0.01, 1] }, C: { uniform: [1, 5] }, D: { normal: [1, 0.5] } },
    dtype: 'float32',
    ...overrides,
  };
}

// Closed forms written out independently of stages/simulate/models.ts.
const CASES: { model: ModelName; p: number[]; f: (x: number, p: number[]) => number; start?: number }[] = [
  {
    model: 'damped-sine',
    p: [1.5, 0.3, 2.5, 0.7],
    f: (x, [A, B, C, D]) => A! * Math.exp(-B! * x) * Math.sin(C! * x + D!),
  },
  {
    model: 'gaussian-peak',
    p: [2, 4, 1.2, 0.5],
    f: (x, [A, B, C, D]) => A! * Math.exp(-((x - B!) ** 2) / (2 * C! ** 2)) + D!,
  },
  { model: 'exponential-decay', p: [3, 0.4, -1], f: (x, [A, B, C]) => A! * Math.exp(-B! * x) + C! },
  { model: 'logistic', p: [2, 1.5, 5, -0.5], f: (x, [A, B, C, D]) => A! / (1 + Math.exp(-B! * (x - C!))) + D! },
  {
    model: 'lorentzian',
    p: [1.2, 3, 0.8, 0.1],
    f: (x, [A, B, C, D]) => (A! * C! ** 2) / ((x - B!) ** 2 + C! ** 2) + D!,
  },
  { model: 'power-law', p: [0.7, 1.7, 2], f: (x, [A, B, C]) => A! * x ** B! + C!, start: 0.5 },
];

const NAMES = ['A', 'B', 'C', 'D'];

describe('simulate numerics', () => {
  for (const c of CASES) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${c.model} (${dtype}) equals its formula on linspace with fixed priors`, async () => {
        const start = c.start ?? 0;
        const points = 41;
        const params = Object.fromEntries(c.p.map((v, i) => [NAMES[i]!, { fixed: v }]));
        const { X, Y, targets } = await run(
          base({ n: 3, model: c.model, x: { start, stop: 10, points, jitter: 0 }, params, dtype }),
        );
        const tol = dtype === 'float32' ? 2e-7 : 1e-14;
        expect(X.shape).toEqual([3, points]);
        expect(Y.shape).toEqual([3, points]);
        expect(targets.shape).toEqual([3, c.p.length]);
        expect(X.dtype).toBe(dtype);
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < points; j++) {
            const x = start + (j * (10 - start)) / (points - 1);
            expect(X.data[i * points + j]!).toBeCloseTo(x, 5);
            const y = c.f(x, c.p);
            expect(Math.abs(Y.data[i * points + j]! - y)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(y)) * 4);
          }
          c.p.forEach((v, k) => expect(targets.data[i * c.p.length + k]).toBeCloseTo(v, 6));
        }
        expect(X.data[points - 1]).toBe(10);
      });
    }
  }
});

describe('simulate priors', () => {
  const n = 20000;
  let [a, b, c]: [number[], number[], number[]] = [[], [], []];
  beforeAll(async () => {
    const { targets } = await run(
      base({
        n,
        model: 'exponential-decay',
        x: { start: 0, stop: 1, points: 2, jitter: 0 },
        params: { A: { uniform: [1, 3] }, B: { normal: [0.5, 0.2] }, C: { loguniform: [0.01, 1] } },
        dtype: 'float64',
      }),
    );
    [a, b, c] = [0, 1, 2].map((k) => column(targets.data, 3, k)) as [number[], number[], number[]];
  });

  it('uniform: mean, std and range', async () => {
    const sigma = 2 / Math.sqrt(12);
    expect(Math.abs(mean(a) - 2)).toBeLessThan(meanTolerance(sigma, n));
    expect(Math.abs(std(a) - sigma)).toBeLessThan(stdTolerance(sigma, n));
    expect(Math.min(...a)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...a)).toBeLessThan(3);
  });

  it('normal: mean and std', async () => {
    expect(Math.abs(mean(b) - 0.5)).toBeLessThan(meanTolerance(0.2, n));
    expect(Math.abs(std(b) - 0.2)).toBeLessThan(stdTolerance(0.2, n));
  });

  it('loguniform: log is uniform between the logs of the bounds', async () => {
    const logs = c.map(Math.log);
    const lo = Math.log(0.01);
    const sigma = -lo / Math.sqrt(12);
    expect(Math.abs(mean(logs) - lo / 2)).toBeLessThan(meanTolerance(sigma, n));
    expect(Math.abs(std(logs) - sigma)).toBeLessThan(stdTolerance(sigma, n));
    expect(Math.min(...c)).toBeGreaterThanOrEqual(0.01 * (1 - 1e-12));
    expect(Math.max(...c)).toBeLessThanOrEqual(1 + 1e-12);
  });
});

describe('simulate x jitter', () => {
  it('moves each x by jitter × step, differently per dataset', async () => {
    const n = 400;
    const points = 11;
    const { X, Y } = await run(base({ n, x: { start: 0, stop: 10, points, jitter: 0.1 }, dtype: 'float64' }));
    const offsets = Array.from(X.data, (x, idx) => x - (idx % points));
    expect(Math.abs(mean(offsets))).toBeLessThan(meanTolerance(0.1, offsets.length));
    expect(Math.abs(std(offsets) - 0.1)).toBeLessThan(stdTolerance(0.1, offsets.length));
    expect(bytesOf(X.data.subarray(0, points)).equals(bytesOf(X.data.subarray(points, 2 * points)))).toBe(false);
    // Y follows the jittered x, not the grid.
    const again = await run(base({ n, x: { start: 0, stop: 10, points, jitter: 0 }, dtype: 'float64' }));
    expect(bytesOf(Y.data).equals(bytesOf(again.Y.data))).toBe(false);
  });
});

describe('simulate determinism', () => {
  it('gives identical bytes for a seed and different ones for another seed', async () => {
    const p = base({ x: { start: 0, stop: 10, points: 30, jitter: 0.05 } });
    const first = await run(p, 99);
    const second = await run(p, 99);
    const other = await run(p, 100);
    for (const key of ['X', 'Y', 'targets'] as const) {
      expect(bytesOf(first[key].data).equals(bytesOf(second[key].data))).toBe(true);
      expect(bytesOf(first[key].data).equals(bytesOf(other[key].data))).toBe(false);
    }
  });
});

describe('simulate params check', () => {
  it('accepts the example pipeline params', async () => {
    expect(checkSimulateParams(base())).toEqual([]);
  });

  it('locates missing, extra and misspelt parameters', async () => {
    const issues = checkSimulateParams(
      base({ model: 'exponential-decay', params: { a: { fixed: 1 }, B: { fixed: 1 }, D: { fixed: 0 } } }),
    );
    expect(issues.map((i) => i.pointer)).toEqual(['/params/a', '/params/D', '/params']);
    expect(issues[0]!.hint).toContain('did you mean A?');
    expect(issues[1]!.message).toBe('model exponential-decay has no parameter D');
    expect(issues[1]!.hint).toContain('A, B, C');
    expect(issues[2]!.message).toBe('model exponential-decay needs a prior for A, C');
  });

  it('refuses empty ranges, a backwards grid and power-law below zero', async () => {
    const issues = checkSimulateParams(
      base({
        model: 'power-law',
        x: { start: -1, stop: -2, points: 5, jitter: 0 },
        params: { A: { uniform: [2, 1] }, B: { loguniform: [1, 1] }, C: { fixed: 0 } },
      }),
    );
    expect(issues.map((i) => i.pointer)).toEqual(['/params/A/uniform', '/params/B/loguniform', '/x/stop', '/x/start']);
    expect(issues[1]!.hint).toBe('for a constant write B: { fixed: 1 }');
    const atZero = checkSimulateParams(
      base({
        model: 'power-law',
        x: { start: 0, stop: 1, points: 5, jitter: 0 },
        params: { A: { fixed: 1 }, B: { normal: [1, 1] }, C: { fixed: 0 } },
      }),
    );
    expect(atZero.map((i) => i.pointer)).toEqual(['/x/start']);
  });

  it('run() throws the same issues as PF_SCHEMA errors', async () => {
    const bad = base({ params: { A: { fixed: 1 }, B: { fixed: 1 }, C: { fixed: 1 } } });
    await expect(run(bad)).rejects.toThrow(ParamflowError);
    try {
      await run(bad);
    } catch (e) {
      expect((e as ParamflowError).code).toBe('PF_SCHEMA');
      expect((e as ParamflowError).pointer).toBe('/params');
    }
  });
});

describe('simulate run behaviour', () => {
  it('reports progress in about 100 steps, ending at n', async () => {
    const ctx = fakeContext();
    await simulate.run({}, base({ n: 1000, x: { start: 0, stop: 1, points: 2, jitter: 0 } }), ctx);
    expect(ctx.progressCalls.length).toBeLessThanOrEqual(101);
    expect(ctx.progressCalls.at(-1)).toEqual({ done: 1000, total: 1000, unit: 'curves' });
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    await expect(simulate.run({}, base(), fakeContext({ signal: ac.signal }))).rejects.toThrow('interrupted');
  });

  it('fails on a non-finite y, naming the dataset and the parameters', async () => {
    const params = { A: { fixed: 1 }, B: { fixed: 4 }, C: { fixed: 0 }, D: { fixed: 0 } };
    await expect(
      run(base({ model: 'gaussian-peak', params, x: { start: 0, stop: 8, points: 9, jitter: 0 } })),
    ).rejects.toThrow(/dataset 0: .* gives NaN at x = 4 with A = 1, B = 4, C = 0, D = 0/);
  });
});

describe('simulate schema', () => {
  const validate = compileStageSchema('simulate');

  it('accepts the seed study and fills defaults', async () => {
    const r = validateWith(validate, {
      n: 10000,
      model: 'damped-sine',
      x: { start: 0, stop: 10, points: 1000 },
      params: { A: { uniform: [0.5, 2] }, B: { loguniform: [0.01, 1] }, C: { normal: [3, 1] }, D: { fixed: 0 } },
    });
    expect(validate.errors).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.value).toMatchObject({ x: { jitter: 0 }, dtype: 'float32' });
  });

  it.each([
    ['n below 1', { n: 0 }, '/n'],
    ['non-integer n', { n: 2.5 }, '/n'],
    ['unknown model', { model: 'sine' }, '/model'],
    ['one grid point', { x: { start: 0, stop: 1, points: 1 } }, '/x/points'],
    ['negative jitter', { x: { start: 0, stop: 1, points: 2, jitter: -1 } }, '/x/jitter'],
    ['two prior kinds', { params: { A: { uniform: [0, 1], fixed: 1 } } }, '/params/A'],
    ['no prior kind', { params: { A: {} } }, '/params/A'],
    ['unknown prior', { params: { A: { beta: [1, 1] } } }, '/params/A'],
    ['three-value range', { params: { A: { uniform: [0, 1, 2] } } }, '/params/A/uniform'],
    ['loguniform at 0', { params: { A: { loguniform: [0, 1] } } }, '/params/A/loguniform/0'],
    ['negative normal std', { params: { A: { normal: [0, -1] } } }, '/params/A/normal/1'],
    ['unknown key', { seeds: 3 }, ''],
  ])('refuses %s', (_name, patch, pointer) => {
    const good = { n: 10, model: 'damped-sine', x: { start: 0, stop: 1, points: 5 }, params: { A: { fixed: 1 } } };
    const r = validateWith(validate, { ...good, ...patch });
    expect(r.ok).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain(pointer);
  });
});

describe('simulate definition', () => {
  it('exposes checkSimulateParams as its check()', async () => {
    expect(simulate.check).toBe(checkSimulateParams);
  });
});
