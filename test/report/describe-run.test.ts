import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPLETE, MANIFEST } from '../../src/cache/store.js';
import { describeRun } from '../../src/report/describe-run.js';
import { tempLayout } from '../helpers/mlflow-kit.js';
import { runRecord } from '../helpers/run-record.js';

const KEY_S = '5'.repeat(64);
const KEY_T = '7'.repeat(64);

function record() {
  const r = runRecord(
    '20261125-100000-000-aaaa',
    { simulate: KEY_S, train: KEY_T },
    {
      resolved: {
        name: 'study',
        seed: 7,
        stages: {
          simulate: { uses: 'simulate', with: { n: 10, x: { points: 5 } } },
          train: { uses: 'train', with: { batch_size: 32 } },
        },
      },
      metrics: { 'rmse.A.mean': 0.2, cv_rmse_mean: 0.3, other: 1 },
      endedAt: '2026-01-01T00:00:02.500Z',
      options: { noCache: false, overrides: ['train.batch_size=32'] },
    },
  );
  Object.assign(r.stages.simulate!, {
    reason: 'never run',
    durationMs: 12,
    files: { 'X.npy': { sha256: 'a', size: 4 }, 'Y.npy': { sha256: 'b', size: 3 } },
  });
  Object.assign(r.stages.train!, {
    status: 'cached',
    durationMs: 5,
    metrics: { val_loss_mean: 0.1, cv_rmse_mean: 0.3 },
    files: { 'model/': { sha256: 'c', size: 0 } },
  });
  r.stages.train!.details.version = '3';
  return r;
}

describe('describeRun', () => {
  it('flattens params, orders metrics objective first, gives each stage its type, version, status and time', async () => {
    const d = await describeRun({ record: record(), source: 'local' }, tempLayout());
    expect(d.params).toEqual({ seed: 7, 'simulate.n': 10, 'simulate.x.points': 5, 'train.batch_size': 32 });
    expect(Object.keys(d.metrics)).toEqual(['cv_rmse_mean', 'rmse.A.mean', 'other']);
    expect(d.durationMs).toBe(2500);
    expect(d.overrides).toEqual(['train.batch_size=32']);
    expect(d.stages).toEqual([
      {
        name: 'simulate',
        type: 'simulate',
        key: KEY_S,
        version: '1',
        status: 'executed',
        reason: 'never run',
        durationMs: 12,
        metrics: {},
      },
      {
        name: 'train',
        type: 'train',
        key: KEY_T,
        version: '3',
        status: 'cached',
        reason: null,
        durationMs: 5,
        metrics: { cv_rmse_mean: 0.3, val_loss_mean: 0.1 },
      },
    ]);
    expect(Object.keys(d.stages[1]!.metrics)).toEqual(['cv_rmse_mean', 'val_loss_mean']);
    expect(d.mlflow).toBeNull();
  });

  it("lists the run folder's artifacts with sizes, and each stage's cache files with whether the cache still holds them", async () => {
    const layout = tempLayout();
    const r = record();
    const arts = join(layout.run(r.runId), 'artifacts');
    mkdirSync(join(arts, 'evaluate', 'plots'), { recursive: true });
    writeFileSync(join(arts, 'evaluate', 'metrics.json'), '{"a":1}');
    writeFileSync(join(arts, 'evaluate', 'plots', 'p.png'), Buffer.alloc(10));
    const entry = layout.entry(KEY_S);
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, 'X.npy'), 'xxxx');
    writeFileSync(join(entry, 'Y.npy'), 'yyy');
    writeFileSync(join(entry, MANIFEST), JSON.stringify({ files: { 'X.npy': { size: 4 }, 'Y.npy': { size: 3 } } }));
    writeFileSync(join(entry, COMPLETE), '');
    const d = await describeRun(
      {
        record: r,
        source: 'local',
        mlflow: { runId: 'm1', experimentId: '2', url: 'http://h/#/experiments/2/runs/m1' },
      },
      layout,
    );
    expect(d.artifacts.run).toEqual([
      { path: 'evaluate/metrics.json', size: 7 },
      { path: 'evaluate/plots/p.png', size: 10 },
    ]);
    expect(d.artifacts.cache).toEqual([
      { stage: 'simulate', key: KEY_S, file: 'X.npy', size: 4, cached: true },
      { stage: 'simulate', key: KEY_S, file: 'Y.npy', size: 3, cached: true },
      { stage: 'train', key: KEY_T, file: 'model/', size: 0, cached: false },
    ]);
    expect(d.mlflow).toEqual({ runId: 'm1', experimentId: '2', url: 'http://h/#/experiments/2/runs/m1' });
  });

  it('a run read from MLflow has no run folder here: no run artifacts listed', async () => {
    const layout = tempLayout();
    const r = record();
    mkdirSync(join(layout.run(r.runId), 'artifacts'), { recursive: true });
    writeFileSync(join(layout.run(r.runId), 'artifacts', 'stray.txt'), 'x');
    const d = await describeRun({ record: r, source: 'mlflow', mlflow: { runId: 'm1' } }, layout);
    expect(d.source).toBe('mlflow');
    expect(d.artifacts.run).toEqual([]);
    expect(d.mlflow).toEqual({ runId: 'm1', experimentId: null, url: null });
  });
});
