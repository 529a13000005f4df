import { describe, expect, it } from 'vitest';
import { mapSweepFinish, type SweepContext } from '../../../src/tracking/mlflow/sweep-mapping.js';
import type { SweepRecord } from '../../../src/tracking/sweep-record.js';

// The sweep parent's objective: a spread only where there are replicates to spread.
function finished(replicates: number): SweepRecord {
  const objectives = [0.2, 0.21, 0.19].slice(0, replicates);
  const mean = objectives.reduce((a, b) => a + b, 0) / replicates;
  return {
    format: 1,
    sweepId: 'sweep-20261206-a',
    pipeline: { name: 'seed-study', file: 'pipelines/seed-study.yaml', experiment: 'seed-study' },
    spec: { grid: { 'train.batch_size': [16] }, replicates, objective: { metric: 'cv_rmse_mean', goal: 'minimize' } },
    overrides: [],
    status: 'FINISHED',
    pid: 1,
    host: 'h',
    startedAt: '2026-12-06T10:00:00.000Z',
    endedAt: '2026-12-06T10:05:00.000Z',
    trials: [
      {
        id: 't1',
        values: { 'train.batch_size': 16 },
        replicates: objectives.map((objective, r) => ({
          replicate: r,
          seed: r,
          status: 'FINISHED' as const,
          attempts: 1,
          runId: `run-${r}`,
          objective,
        })),
      },
    ],
    best: { trial: 't1', values: { 'train.batch_size': 16 }, objective: { mean, std: 0.01, n: replicates } },
  };
}

const ctx: SweepContext = { user: 'u', sweepDir: '.paramflow/sweeps/s', now: 0 };
const logged = (record: SweepRecord, c: SweepContext = ctx) => {
  const ops = mapSweepFinish(record, c).ops.filter((o) => o.op === 'log-batch');
  return {
    metrics: ops.flatMap((o) => (o.op === 'log-batch' ? (o.metrics ?? []).map((m) => m.key) : [])),
    tags: Object.fromEntries(
      ops.flatMap((o) => (o.op === 'log-batch' ? (o.tags ?? []).map((t) => [t.key, t.value]) : [])),
    ),
  };
};

describe('mapSweepFinish', () => {
  it('logs no `_std` for a single replicate (0 would read as no spread), and says how many there were', () => {
    const one = logged(finished(1));
    expect(one.metrics).toEqual(['cv_rmse_mean']);
    expect(one.tags['paramflow.best_replicates']).toBe('1');
    const three = logged(finished(3));
    expect(three.metrics).toEqual(['cv_rmse_mean', 'cv_rmse_mean_std']);
    expect(three.tags['paramflow.best_replicates']).toBe('3');
  });

  it("names the best replicates' MLflow runs when they are known, beside paramflow's run ids", () => {
    const { tags } = logged(finished(2), { ...ctx, bestMlflowRuns: ['abc', 'def'] });
    expect(tags['paramflow.best_runs']).toBe('run-0,run-1');
    expect(tags['paramflow.best_mlflow_runs']).toBe('abc,def');
    expect(logged(finished(2)).tags['paramflow.best_mlflow_runs']).toBeUndefined();
  });
});
