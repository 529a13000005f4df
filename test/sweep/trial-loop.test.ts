import { describe, expect, it } from 'vitest';
import type { SweepSpec } from '../../src/config/sweep-spec.js';
import { expandTrials, type Trial } from '../../src/sweep/expand.js';
import { listProposer, tpeProposer } from '../../src/sweep/proposer.js';
import { driveTrials, type LoopOptions } from '../../src/sweep/trial-loop.js';
import type { RunStore } from '../../src/tracking/run-store.js';
import type { SweepRecord, TrialRecord } from '../../src/tracking/sweep-record.js';

const OBJECTIVE = { metric: 'cv_rmse_mean', goal: 'minimize' } as const;

/** A sweep loop whose replicates "run" instantly: objective = batch size / 100, 30 s of fake clock each. */
function loop(spec: SweepSpec, planned: Trial[] | undefined, replicates = 1) {
  let clock = 0;
  const record = { spec, trials: [] as TrialRecord[] } as unknown as SweepRecord;
  const newTrial = (t: Trial): TrialRecord => ({
    id: t.id,
    values: t.values,
    replicates: Array.from({ length: replicates }, (_, r) => ({
      replicate: r,
      seed: r,
      status: 'pending',
      attempts: 0,
    })),
  });
  record.trials = (planned ?? []).slice(0, spec.budget?.trials ?? Infinity).map(newTrial);
  const ran: string[] = [];
  const o: LoopOptions = {
    record,
    spec,
    proposer: planned ? listProposer(planned) : tpeProposer(spec, 1),
    newTrial,
    slots: 1,
    signal: new AbortController().signal,
    runs: { read: () => Promise.reject(new Error('no run store here')) } as unknown as RunStore,
    earlier: new Map(),
    log: () => undefined,
    after: async () => undefined,
    now: () => clock,
    run: async (t, r) => {
      ran.push(`${t.id}/${r.replicate}`);
      clock += 30_000;
      Object.assign(r, { status: 'FINISHED', objective: (t.values['b'] as number) / 100 });
    },
  };
  return { o, record, ran };
}

const GRID: SweepSpec = { grid: { b: [16, 32, 64, 128, 256] }, replicates: 1, objective: OBJECTIVE };

describe('the sweep loop and its budget', () => {
  it('runs the first N planned trials with budget.trials, and says why it stopped', async () => {
    const spec = { ...GRID, budget: { trials: 2 } };
    const { o, record, ran } = loop(spec, expandTrials(spec, 1));
    await driveTrials(o);
    expect(ran).toHaveLength(2);
    expect(record.trials.map((t) => t.values.b)).toEqual([16, 32]);
    expect(record.stopped).toBe('budget: 2 trials');
  });

  it('starts no new trial once budget.minutes have passed; the trial it is in finishes its replicates', async () => {
    const spec = { ...GRID, replicates: 2, budget: { minutes: 1.5 } };
    const { o, record, ran } = loop(spec, expandTrials(spec, 1), 2);
    await driveTrials(o);
    // t=0: trial 1 (two replicates, to t=60 s); t=60 s: trial 2 starts (to 120 s); t=120 s ≥ 90 s: stop.
    expect(ran).toHaveLength(4);
    expect(record.stopped).toBe('budget: 1.5 minutes');
    // The trials it never started are not part of the sweep.
    expect(record.trials).toHaveLength(2);
    expect(record.trials.every((t) => t.replicates.every((r) => r.status === 'FINISHED'))).toBe(true);
  });

  it('proposes with tpe until budget.trials, each proposal from the trials before it', async () => {
    const spec: SweepSpec = { ...GRID, tpe: { startup: 2 }, budget: { trials: 4 } };
    const { o, record, ran } = loop(spec, undefined);
    await driveTrials(o);
    expect(ran).toHaveLength(4);
    expect(record.stopped).toBe('budget: 4 trials');
    expect(new Set(record.trials.map((t) => t.id)).size).toBe(4);
    // A rerun of the same loop proposes the same trials.
    const again = loop(spec, undefined);
    await driveTrials(again.o);
    expect(again.record.trials.map((t) => t.id)).toEqual(record.trials.map((t) => t.id));
  });

  it('a small space used up ends a tpe search before its budget', async () => {
    const spec: SweepSpec = {
      grid: { b: [16, 32] },
      replicates: 1,
      objective: OBJECTIVE,
      tpe: {},
      budget: { trials: 9 },
    };
    const { o, record } = loop(spec, undefined);
    await driveTrials(o);
    expect(record.trials).toHaveLength(2);
    expect(record.stopped).toBe('every point of the search space was tried');
  });
});
