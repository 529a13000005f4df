import { describe, expect, it } from 'vitest';
import { compareRuns, orderMetrics } from '../../src/report/compare-runs.js';
import { runRecord } from '../helpers/run-record.js';

const run = (id: string, batch: number, metrics: Record<string, number>, extra: Record<string, unknown> = {}) =>
  runRecord(
    id,
    {},
    { resolved: { seed: 1, stages: { train: { with: { batch_size: batch, epochs: 5, ...extra } } } }, metrics },
  );

describe('compareRuns', () => {
  it('lists every param, the differing ones, and deltas (absolute and %) against the first run', () => {
    const c = compareRuns(
      [
        run('r1', 16, { cv_rmse_mean: 0.5, 'rmse.A.mean': 0.2 }),
        run('r2', 32, { cv_rmse_mean: 0.4, 'rmse.A.mean': 0.2 }),
        run('r3', 16, { cv_rmse_mean: 0.6 }, { dropout: 0.1 }),
      ],
      'cv_rmse_mean',
    );
    expect(c.runs).toEqual(['r1', 'r2', 'r3']);
    expect(c.params).toEqual({
      seed: [1, 1, 1],
      'train.batch_size': [16, 32, 16],
      'train.epochs': [5, 5, 5],
      'train.dropout': [null, null, 0.1],
    });
    expect(c.differing).toEqual(['train.batch_size', 'train.dropout']);
    expect(c.metrics.cv_rmse_mean!.values).toEqual([0.5, 0.4, 0.6]);
    expect(c.metrics.cv_rmse_mean!.delta[0]).toBe(0);
    expect(c.metrics.cv_rmse_mean!.delta[1]).toBeCloseTo(-0.1, 12);
    expect(c.metrics.cv_rmse_mean!.deltaPct[1]).toBeCloseTo(-20, 9);
    expect(c.metrics.cv_rmse_mean!.deltaPct[2]).toBeCloseTo(20, 9);
    expect(c.metrics['rmse.A.mean']).toEqual({ values: [0.2, 0.2, null], delta: [0, 0, null], deltaPct: [0, 0, null] });
  });

  it('has no percentage against a zero', () => {
    const c = compareRuns([run('a', 1, { bias: 0 }), run('b', 1, { bias: 0.5 })], 'cv_rmse_mean');
    expect(c.metrics.bias).toEqual({ values: [0, 0.5], delta: [0, 0.5], deltaPct: [null, null] });
  });
});

describe('orderMetrics', () => {
  it('puts the objective first, then the usual summaries, per-target RMSE, other means, the rest', () => {
    const keys = [
      'r2.A.mean',
      'rmse.B.mean',
      'zeta',
      'cv_rmse_std',
      'rmse.A.mean',
      'cv_rmse_mean',
      'rmse.A.std',
      'val_loss_mean',
    ];
    expect(orderMetrics(keys, 'val_loss_mean')).toEqual([
      'val_loss_mean',
      'cv_rmse_mean',
      'cv_rmse_std',
      'rmse.A.mean',
      'rmse.B.mean',
      'r2.A.mean',
      'rmse.A.std',
      'zeta',
    ]);
  });
});
