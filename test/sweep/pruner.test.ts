import { describe, expect, it } from 'vitest';
import { isRung, rungWatcher, PrunedSignal } from '../../src/runner/pruning.js';
import { Pruner, rungRule } from '../../src/sweep/prune/pruner.js';
import { observations, foldZeroCurve } from '../../src/sweep/trial-loop.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import type { RunRecord } from '../../src/tracking/run-record.js';

const at = (epoch: number, value: number) => ({ stage: 'train', epoch, value });

describe('rung epochs', () => {
  it('are min_epochs × factor^k for ASHA and every interval for the median rule', () => {
    const asha = rungRule({ method: 'asha', min_epochs: 2, reduction_factor: 3 });
    expect([1, 2, 3, 6, 12, 18, 54].filter((e) => isRung(asha, e))).toEqual([2, 6, 18, 54]);
    const median = rungRule({ method: 'median', min_epochs: 4, interval: 2 });
    expect([2, 3, 4, 5, 6, 8, 9].filter((e) => isRung(median, e))).toEqual([4, 6, 8]);
    // The median rule's interval defaults to min_epochs.
    expect(rungRule({ method: 'median', min_epochs: 5 })).toEqual({ first: 5, interval: 5 });
  });
});

describe('ASHA', () => {
  it('keeps a trial among the best ⌊n/η⌋ at a rung, or the best while fewer than η got there', () => {
    const p = new Pruner({ method: 'asha', min_epochs: 1, reduction_factor: 3 });
    expect(p.decide('a', at(1, 0.5)).prune).toBe(false); // alone: the best
    expect(p.decide('b', at(1, 0.7)).prune).toBe(true); // 2 < η: must be the best
    expect(p.decide('c', at(1, 0.4)).prune).toBe(false);
    // 6 trials at the rung: the best 2 go on.
    p.decide('d', at(1, 0.9));
    p.decide('e', at(1, 0.8));
    const f = p.decide('f', at(1, 0.45));
    expect(f.prune).toBe(false);
    const g = p.decide('g', at(1, 0.6));
    expect(g.prune).toBe(true);
    expect(g.reason).toMatch(
      /not among the best 2 of the 7 trials at this rung \(cut-off 0\.4500, reduction factor 3\)/,
    );
    // Not a rung: nothing is decided.
    expect(p.decide('h', at(2, 99)).prune).toBe(false);
  });

  it('counts a finished trial at every rung with its best so far, and past its early stop with its best', () => {
    const p = new Pruner({ method: 'asha', min_epochs: 1, reduction_factor: 2 });
    p.finished('done', [0.9, 0.3, 0.35]); // stopped early after 3 epochs
    // At epoch 1 it had 0.9: a new trial with 0.5 is the best of 2.
    expect(p.decide('x', at(1, 0.5)).prune).toBe(false);
    // At epoch 4 (past its end) it counts with 0.3: 0.31 is not the best of 2.
    expect(p.decide('x', at(4, 0.31)).prune).toBe(true);
  });
});

describe('the median rule', () => {
  it('waits for `startup` other trials, then stops a trial worse than their median', () => {
    const p = new Pruner({ method: 'median', min_epochs: 2, startup: 3 });
    p.reported('a', 2, 0.1);
    p.reported('b', 2, 0.3);
    expect(p.decide('c', at(2, 9)).prune).toBe(false); // 2 others < startup
    p.reported('d', 2, 0.2);
    const v = p.decide('e', at(2, 0.28)); // others: 0.1, 0.3, 9 (c's own report) and 0.2
    expect(v.prune).toBe(true);
    expect(v.reason).toMatch(/worse than the median 0\.2500 of the 4 other trials/);
    expect(p.decide('f', at(2, 0.2)).prune).toBe(false);
  });
});

describe("a run's rung watcher", () => {
  it('asks at rungs with fold 0 best so far and aborts with a PrunedSignal on a prune verdict', async () => {
    const asked: number[][] = [];
    let stopped: PrunedSignal | undefined;
    const watch = rungWatcher(
      {
        rule: { first: 2, factor: 2 },
        ask: async (r) => {
          asked.push([r.epoch, r.value]);
          return r.epoch === 4 ? { prune: true, reason: 'worse' } : { prune: false };
        },
      },
      (why) => (stopped = why),
    );
    for (const [e, v] of [
      [1, 0.5],
      [2, 0.7],
      [3, 0.2],
      [4, 0.4],
    ] as const)
      await watch('train', 0, e, v);
    await watch('train', 1, 2, 0.01); // other folds are not watched
    expect(asked).toEqual([
      [2, 0.5],
      [4, 0.2],
    ]);
    expect(stopped).toBeInstanceOf(PrunedSignal);
    expect(stopped!.report).toEqual({ stage: 'train', epoch: 4, value: 0.2 });
  });

  it('lets the run go on when the sweep cannot answer', async () => {
    let stopped = false;
    const watch = rungWatcher(
      { rule: { first: 1, factor: 2 }, ask: () => Promise.reject(new Error('gone')) },
      () => (stopped = true),
    );
    await watch('train', 0, 1, 0.5);
    expect(stopped).toBe(false);
  });
});

describe('what the search learns from a sweep record', () => {
  it('scores complete trials by the objective (negated to maximise), pruned by their rung, running as unknown', () => {
    const rep = (status: string, extra = {}) => ({ replicate: 0, seed: 1, status, attempts: 1, ...extra });
    const record = {
      spec: { objective: { metric: 'r2', goal: 'maximize' }, replicates: 1 },
      trials: [
        { id: 'a', values: { k: 1 }, replicates: [rep('FINISHED')], objective: { mean: 0.9, std: 0, n: 1 } },
        {
          id: 'b',
          values: { k: 2 },
          replicates: [rep('PRUNED', { pruned: { stage: 'train', epoch: 6, value: 0.3, reason: 'x' } })],
        },
        { id: 'c', values: { k: 3 }, replicates: [rep('running')] },
        { id: 'd', values: { k: 4 }, replicates: [rep('FAILED')] },
      ],
    } as unknown as SweepRecord;
    expect(observations(record)).toEqual([
      { values: { k: 1 }, state: 'complete', score: -0.9 },
      { values: { k: 2 }, state: 'pruned', rung: 6, score: 0.3 },
      { values: { k: 3 }, state: 'running' },
      { values: { k: 4 }, state: 'pruned', rung: 0 },
    ]);
  });

  it("reads fold 0's val_loss curve from the first stage that reports folds, in step order", () => {
    const point = (step: number, value: number) => ({ step, value, timestamp: 0 });
    const run = {
      stages: {
        simulate: {},
        train: {
          folds: [
            { fold: 1, series: {} },
            { fold: 0, metrics: {}, series: { val_loss: [point(2, 0.4), point(1, 0.5)] } },
          ],
        },
      },
    } as unknown as RunRecord;
    expect(foldZeroCurve(run)).toEqual([0.5, 0.4]);
  });
});

describe("the stage context's fold hook under a pruner", () => {
  it('replays a resumed fold 0 to the pruner, epoch by epoch, before training goes on', async () => {
    const { stageContext } = await import('../../src/runner/stage-context.js');
    const seen: [number, number, number | undefined][] = [];
    const c = {
      plan: { backend: undefined, pipeline: { dir: '/p', root: '/p' } },
      reporter: { stageFold: () => undefined },
      signal: new AbortController().signal,
      watchRung: async (_stage: string, fold: number, epoch: number, v: number | undefined) =>
        void seen.push([fold, epoch, v]),
    };
    const s = { spec: { name: 'train', seed: 1 }, def: { name: 'train' } };
    const ctx = stageContext(s as never, c as never, {} as never, []);
    await ctx.fold!({
      fold: 0,
      phase: 'start',
      epoch: 3,
      epochs: 9,
      at: 0,
      resumed: { loss: [1, 1, 1], val_loss: [0.5, 0.4, 0.45] },
    });
    await ctx.fold!({ fold: 0, phase: 'epoch', epoch: 4, epochs: 9, at: 0, metrics: { loss: 1, val_loss: 0.3 } });
    expect(seen).toEqual([
      [0, 1, 0.5],
      [0, 2, 0.4],
      [0, 3, 0.45],
      [0, 4, 0.3],
    ]);
  });
});
