import { describe, expect, it } from 'vitest';
import { keyImportance } from '../../src/sweep/importance.js';
import { Rng } from '../../src/stage-contract/random.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';

/** A sweep record of scored trials (only what importance reads). */
function sweep(trials: { values: Record<string, unknown>; y: number }[]): SweepRecord {
  return {
    trials: trials.map((t, i) => ({
      id: `t${i}`,
      values: t.values,
      replicates: [],
      objective: { mean: t.y, std: 0, n: 1 },
    })),
  } as unknown as SweepRecord;
}

describe('key importance (adjusted η²)', () => {
  const rng = new Rng(4);
  const trials = Array.from({ length: 24 }, (_, i) => {
    const batch = [16, 64, 256][i % 3]!;
    const noise = rng.uniform(0, 1); // a continuous key with no effect
    return { values: { batch, noise }, y: Math.log2(batch) + 0.1 * rng.standardNormal() };
  });

  it('gives the key the objective follows most of the spread, and a key it ignores next to none', () => {
    const [first, second] = keyImportance(sweep(trials), ['noise', 'batch']);
    expect(first).toMatchObject({ key: 'batch', bins: 3 });
    expect(first!.share).toBeGreaterThan(0.95);
    expect(second).toMatchObject({ key: 'noise', bins: 4 });
    expect(second!.share).toBeLessThan(0.2);
  });

  it('does not let a key whose every trial is its own group explain everything', () => {
    // 9 trials, a key with 8 distinct values and no effect: binned by rank, adjusted, near 0.
    const few = trials.slice(0, 9).map((t, i) => ({ ...t, values: { ...t.values, units: 16 + (i % 8) * 8 } }));
    const units = keyImportance(sweep(few), ['units'])[0]!;
    expect(units.bins).toBeLessThanOrEqual(3);
    expect(units.share).toBeLessThan(0.5);
  });

  it('says nothing from fewer than 5 scored trials, or for a key that did not vary', () => {
    expect(keyImportance(sweep(trials.slice(0, 4)), ['batch'])).toEqual([]);
    expect(keyImportance(sweep(trials.map((t) => ({ ...t, values: { k: 1 } }))), ['k'])).toEqual([]);
  });
});
