import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import type { NdArray } from '../../src/stage-contract/types.js';
import { HOLDOUT, splitFolds, type SplitFoldsParams } from '../../stages/split-folds/index.js';
import { fakeContext, syncResult } from '../helpers/stage-context.js';
import { compileStageSchema, validateWith } from '../helpers/stage-schema.js';
import { bytesOf } from '../helpers/stats.js';

function folds(n: number, params: SplitFoldsParams, seed = 5): NdArray {
  const targets = ndarray('float32', [n, 4]);
  return syncResult(splitFolds.run({ targets }, params, fakeContext({ seed }))).outputs.folds as NdArray;
}

function sizes(f: NdArray, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const v of f.data) if (v !== HOLDOUT) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

describe('split-folds', () => {
  it('gives every index exactly one fold id in 0…k-1, in balanced folds', () => {
    for (const [n, k] of [
      [10, 4],
      [1000, 4],
      [37, 5],
      [2, 2],
      [101, 100],
    ] as const) {
      const f = folds(n, { k, holdout: 0 });
      expect(f.dtype).toBe('int32');
      expect(f.shape).toEqual([n]);
      expect([...f.data].every((v) => Number.isInteger(v) && v >= 0 && v < k)).toBe(true);
      const s = sizes(f, k);
      expect(s.reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
    }
  });

  it('sets round(holdout·N) indices aside as -1 and deals the rest', () => {
    const f = folds(1001, { k: 4, holdout: 0.2 });
    const held = [...f.data].filter((v) => v === HOLDOUT).length;
    expect(held).toBe(Math.round(0.2 * 1001));
    const s = sizes(f, 4);
    expect(s.reduce((a, b) => a + b, 0)).toBe(1001 - held);
    expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
  });

  it('shuffles: folds are not contiguous blocks or a plain stripe', () => {
    const f = folds(400, { k: 4, holdout: 0 });
    const stripe = [...f.data].every((v, i) => v === i % 4);
    const blocks = [...f.data].every((v, i) => v === Math.floor(i / 100));
    expect(stripe || blocks).toBe(false);
  });

  it('is deterministic for a seed and differs for another seed', () => {
    const p = { k: 4, holdout: 0.1 };
    expect(bytesOf(folds(500, p, 1).data).equals(bytesOf(folds(500, p, 1).data))).toBe(true);
    expect(bytesOf(folds(500, p, 1).data).equals(bytesOf(folds(500, p, 2).data))).toBe(false);
  });

  it('refuses fewer datasets outside the holdout than folds', () => {
    expect(() => folds(5, { k: 4, holdout: 0.5 })).toThrow(ParamflowError);
    expect(() => folds(5, { k: 4, holdout: 0.5 })).toThrow(
      /k = 4 folds need at least 4 datasets, but there are 2 datasets outside the holdout/,
    );
    expect(() => folds(3, { k: 4, holdout: 0 })).toThrow(/there are 3/);
    expect(folds(4, { k: 4, holdout: 0 }).shape).toEqual([4]);
  });
});

describe('split-folds schema', () => {
  const validate = compileStageSchema('split-folds');

  it('fills k = 4 and holdout = 0', () => {
    const r = validateWith(validate, {});
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({ k: 4, holdout: 0 });
    expect(validateWith(validate, { k: 10, holdout: 0.2 }).value).toEqual({ k: 10, holdout: 0.2 });
  });

  it.each([
    ['k = 1', { k: 1 }, '/k'],
    ['k = 101', { k: 101 }, '/k'],
    ['fractional k', { k: 2.5 }, '/k'],
    ['holdout 0.9', { holdout: 0.9 }, '/holdout'],
    ['negative holdout', { holdout: -0.1 }, '/holdout'],
    ['unknown key', { stratify: true }, ''],
  ])('refuses %s', (_name, value, pointer) => {
    expect(validateWith(validate, value).ok).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain(pointer);
  });
});
