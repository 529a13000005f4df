import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { flattenParams } from '../../../src/tracking/mlflow/flatten.js';
import { mlflowKeyProblems } from '../../../src/tracking/mlflow/limits.js';
import {
  defaultRunName,
  mapFinish,
  mapFolds,
  mapStage,
  mapStart,
  newMappingState,
  pipelineParamKeys,
  type MappingContext,
} from '../../../src/tracking/mlflow/mapping.js';
import type { TrackOp } from '../../../src/tracking/mlflow/ops.js';
import { studyRecord } from '../../helpers/mlflow-kit.js';

const ctx: MappingContext = { user: 'alice', runDir: '.paramflow/runs/r1', now: 1_800_000_000_000 };
const ofKind = <K extends TrackOp['op']>(ops: TrackOp[], op: K) =>
  ops.filter((o): o is Extract<TrackOp, { op: K }> => o.op === op);
const tagsOf = (ops: TrackOp[]) =>
  Object.fromEntries(
    [...ofKind(ops, 'create-run').flatMap((o) => o.tags), ...ofKind(ops, 'log-batch').flatMap((o) => o.tags)].map(
      (t) => [t.key, t.value],
    ),
  );

describe('flattenParams', () => {
  it('joins paths with dots; lists and empty mappings as JSON', () => {
    expect(
      flattenParams(
        {
          batch_size: 32,
          x: { points: 1000, jitter: 0.01 },
          layers: [{ dense: { units: 64 } }],
          es: {},
          on: true,
          none: null,
          name: 'a b',
        },
        'train',
      ),
    ).toEqual([
      { key: 'train.batch_size', value: '32' },
      { key: 'train.x.points', value: '1000' },
      { key: 'train.x.jitter', value: '0.01' },
      { key: 'train.layers', value: '[{"dense":{"units":64}}]' },
      { key: 'train.es', value: '{}' },
      { key: 'train.on', value: 'true' },
      { key: 'train.none', value: 'null' },
      { key: 'train.name', value: 'a b' },
    ]);
  });
});

describe('pipelineParamKeys', () => {
  it('gives the names validation checks with mlflowKeyProblems', () => {
    const resolved = { seed: 1, stages: { train: { with: { batch_size: 32, 'odd key!': 1 } } } };
    expect(pipelineParamKeys(resolved)).toEqual(['train.batch_size', 'train.odd key!', 'seed']);
    expect(mlflowKeyProblems(pipelineParamKeys(resolved))).toEqual([expect.stringContaining('`train.odd key!`')]);
  });
});

describe('mapStart', () => {
  const record = studyRecord('r1');
  const state = newMappingState();
  const m = mapStart(record, ctx, state);

  it('names the experiment per Conventions, then creates one run with its identity tags', () => {
    expect(m.ops[0]).toEqual({ op: 'experiment', name: 'curve-params' });
    const create = ofKind(m.ops, 'create-run')[0]!;
    expect(create).toMatchObject({
      scope: 'run',
      runName: `curve-params ${record.runHash.slice(0, 8)}`,
      startTime: Date.parse(record.startedAt),
      userId: 'alice',
    });
    expect(create.parent).toBeUndefined();
  });

  it('tags the run as the issue asks', () => {
    expect(tagsOf(m.ops)).toMatchObject({
      'mlflow.runName': `curve-params ${record.runHash.slice(0, 8)}`,
      'mlflow.source.name': 'pipelines/study.yaml',
      'mlflow.source.git.commit': 'deadbeef'.repeat(5),
      'mlflow.user': 'alice',
      'paramflow.run_id': 'r1',
      'paramflow.run_hash': record.runHash,
      'paramflow.stage.train.key': 'b'.repeat(64),
      'paramflow.stage.simulate.key': 'a'.repeat(64),
      'paramflow.backend': 'cpu',
    });
  });

  it('logs every stage param flattened with dots, plus seed', () => {
    const params = Object.fromEntries(
      ofKind(m.ops, 'log-batch')
        .flatMap((o) => o.params)
        .map((p) => [p.key, p.value]),
    );
    expect(params).toEqual({
      'simulate.n': '100',
      'simulate.model': 'damped-sine',
      'simulate.x.start': '0',
      'simulate.x.stop': '10',
      'simulate.x.points': '50',
      'train.batch_size': '32',
      'train.layers': '[{"dense":{"units":64}}]'.replace('64', '8'),
      'train.optimizer.adam.lr': '0.001',
      evaluate: '{}',
      seed: '7',
    });
  });

  it('uploads the resolved pipeline as YAML', () => {
    const art = ofKind(m.ops, 'artifact').find((a) => a.path === 'pipeline.yaml')!;
    expect(art.file).toBe('.paramflow/runs/r1/mlflow/pipeline.yaml');
    expect(parse(m.files.find((f) => f.file === art.file)!.content)).toEqual(record.resolved);
  });

  it('truncates a param over 6000 characters and uploads the full value', () => {
    const r = studyRecord('r2');
    (r.resolved as { stages: { simulate: { with: Record<string, unknown> } } }).stages.simulate.with.notes = 'n'.repeat(
      7000,
    );
    const out = mapStart(r, ctx, newMappingState());
    const p = ofKind(out.ops, 'log-batch')
      .flatMap((o) => o.params)
      .find((x) => x.key === 'simulate.notes')!;
    expect([...p.value]).toHaveLength(6000);
    expect(p.value.endsWith('…')).toBe(true);
    expect(ofKind(out.ops, 'artifact').map((a) => a.path)).toContain('params/simulate.notes.txt');
    expect(out.files.find((f) => f.file.endsWith('params/simulate.notes.txt'))!.content).toHaveLength(7000);
  });

  it('leaves out names MLflow refuses, and says which', () => {
    const r = studyRecord('r3');
    (r.resolved as { stages: { simulate: { with: Record<string, unknown> } } }).stages.simulate.with['bad key!'] = 1;
    const out = mapStart(r, ctx, newMappingState());
    expect(out.skipped).toEqual(['simulate.bad key!']);
    expect(
      ofKind(out.ops, 'log-batch')
        .flatMap((o) => o.params)
        .map((p) => p.key),
    ).not.toContain('simulate.bad key!');
  });
});

describe('mapStage and mapFinish', () => {
  const record = studyRecord('r1', { epochs: 4, folds: 2 });
  const state = newMappingState();
  mapStart(record, ctx, state);
  const train = mapStage(
    record,
    'train',
    [{ path: 'plots/fold-0.png', file: '.paramflow/cache/bbb/plots/fold-0.png' }],
    ctx,
    state,
  );
  const evaluate = mapStage(record, 'evaluate', [], ctx, state);

  it('makes each fold a nested run named after its run (`<run name> fold-<k>`), with its metrics and curves', () => {
    const creates = ofKind(train.ops, 'create-run');
    const name = defaultRunName(record);
    expect(creates.map((c) => [c.scope, c.parent, c.runName])).toEqual([
      ['fold-0', 'run', `${name} fold-0`],
      ['fold-1', 'run', `${name} fold-1`],
    ]);
    expect(creates[0]!.tags).toContainEqual({ key: 'paramflow.stage', value: 'train' });
    const fold0 = ofKind(train.ops, 'log-batch')
      .filter((b) => b.scope === 'fold-0')
      .flatMap((b) => b.metrics);
    expect(fold0.filter((m) => m.key === 'loss').map((m) => [m.step, m.timestamp])).toEqual(
      record.stages.train!.folds![0]!.series.loss!.map((p) => [p.step, p.timestamp]),
    );
    expect(fold0.find((m) => m.key === 'rmse.A')).toMatchObject({ value: 0.1, step: 0 });
  });

  // The run's own metrics at its end, the objective first: nothing on the run before it.
  const ended = { ...record, status: 'FINISHED' as const, endedAt: '2026-11-25T10:00:05.000Z' };
  const finished = mapFinish(ended, ctx, structuredClone(state));
  const runMetricsAtEnd = ofKind(finished.ops, 'log-batch')
    .filter((b) => b.scope === 'run')
    .flatMap((b) => b.metrics);

  it('puts stage metrics and stage curves on the pipeline run at its end, the objective first', () => {
    const during = ofKind([...train.ops, ...evaluate.ops], 'log-batch')
      .filter((b) => b.scope === 'run')
      .flatMap((b) => b.metrics);
    expect(during).toEqual([]);
    expect(runMetricsAtEnd[0]).toMatchObject({ key: 'cv_rmse_mean', step: 0, timestamp: Date.parse(ended.endedAt) });
    const keys = runMetricsAtEnd.map((m) => m.key).sort();
    expect(keys.filter((k) => !k.endsWith('loss.mean'))).toEqual([
      'cv_rmse_mean',
      'lr',
      'lr',
      'lr',
      'rmse.A.mean',
      'val_loss_mean',
    ]);
  });

  it("logs the folds' mean curve on the run: `<key>.mean` at each epoch, over the folds that ran it", () => {
    const folds = record.stages.train!.folds!;
    const onRun = runMetricsAtEnd.filter((m) => m.key === 'val_loss.mean');
    expect(onRun.map((m) => m.step)).toEqual(folds[0]!.series.val_loss!.map((p) => p.step));
    onRun.forEach((m, i) =>
      expect(m.value).toBeCloseTo(folds.reduce((a, f) => a + f.series.val_loss![i]!.value, 0) / folds.length, 12),
    );
    // A fold that stopped early no longer counts from the epoch it did not run.
    const shorter = studyRecord('r9', { epochs: 4, folds: 2 });
    const f1 = shorter.stages.train!.folds![1]!;
    f1.series.val_loss = f1.series.val_loss!.slice(0, 2);
    const last = ofKind(mapFinish(shorter, ctx, newMappingState()).ops, 'log-batch')
      .flatMap((b) => b.metrics)
      .filter((m) => m.key === 'val_loss.mean')
      .at(-1)!;
    expect(last.value).toBe(shorter.stages.train!.folds![0]!.series.val_loss!.at(-1)!.value);
  });

  it('tags each stage with its status and (when it ran) its duration', () => {
    const tags = ofKind(train.ops, 'log-batch')
      .filter((b) => b.scope === 'run')
      .flatMap((b) => b.tags ?? []);
    expect(tags).toContainEqual({ key: 'paramflow.stage.train.status', value: record.stages.train!.status });
    expect(tags.find((t) => t.key === 'paramflow.stage.train.seconds')?.value).toBe(
      (record.stages.train!.durationMs! / 1000).toFixed(1),
    );
  });

  it('uploads the files handed over, at their relative paths', () => {
    expect(ofKind(train.ops, 'artifact')).toEqual([
      {
        op: 'artifact',
        scope: 'run',
        path: 'plots/fold-0.png',
        file: '.paramflow/cache/bbb/plots/fold-0.png',
        contentType: 'image/png',
      },
    ]);
  });

  it('at the end: run metrics not logged yet, run.json, and every run FINISHED / FAILED with end_time', () => {
    const done = {
      ...record,
      status: 'FAILED' as const,
      endedAt: '2026-11-25T10:00:05.000Z',
      metrics: { cv_rmse_mean: 0.15, extra: 2 },
    };
    const fin = mapFinish(done, ctx, state);
    const keys = ofKind(fin.ops, 'log-batch').flatMap((b) => b.metrics.map((m) => m.key));
    expect(keys[0]).toBe('cv_rmse_mean');
    expect(keys).toContain('extra');
    expect(ofKind(fin.ops, 'log-batch').flatMap((b) => b.metrics)[0]!.value).toBe(0.15);
    // Mapped again (a retried finish): nothing logged twice.
    expect(ofKind(mapFinish(done, ctx, state).ops, 'log-batch').flatMap((b) => b.metrics)).toEqual([]);
    expect(ofKind(fin.ops, 'artifact').map((a) => [a.path, a.file])).toEqual([
      ['run.json', '.paramflow/runs/r1/run.json'],
    ]);
    expect(ofKind(fin.ops, 'update-run').map((u) => [u.scope, u.status, u.endTime])).toEqual(
      ['fold-0', 'fold-1', 'run'].map((s) => [s, 'FAILED', Date.parse('2026-11-25T10:00:05.000Z')]),
    );
  });

  it('a cached stage maps the same as an executed one (its recorded metrics still go)', () => {
    const cached = studyRecord('r1', { epochs: 4, folds: 2 });
    cached.stages.train!.status = 'cached';
    const again = mapStage(cached, 'train', [], ctx, newMappingState());
    expect(ofKind(again.ops, 'log-batch').flatMap((b) => b.metrics)).toHaveLength(
      ofKind(train.ops, 'log-batch').flatMap((b) => b.metrics).length,
    );
    // …but its folds say they come from the cache, and end with the stage (not the run).
    for (const c of ofKind(again.ops, 'create-run'))
      expect(c.tags).toContainEqual({ key: 'paramflow.cached', value: 'true' });
    expect(ofKind(again.ops, 'update-run').map((u) => [u.scope, u.status])).toEqual([
      ['fold-0', 'FINISHED'],
      ['fold-1', 'FINISHED'],
    ]);
  });
});

describe('mapFolds: a fold streamed while it trains', () => {
  const record = studyRecord('r5', { epochs: 3, folds: 1 });
  const series = record.stages.train!.folds![0]!.series;
  const t0 = series.loss![0]!.timestamp - 500;
  const state = newMappingState();
  mapStart(record, ctx, state);
  const epoch = (i: number) => ({
    fold: 0,
    phase: 'epoch' as const,
    epoch: series.loss![i]!.step,
    epochs: 3,
    metrics: { loss: series.loss![i]!.value, val_loss: series.val_loss![i]!.value },
    at: series.loss![i]!.timestamp,
  });
  const first = mapFolds(
    record,
    'train',
    [{ fold: 0, phase: 'start', epoch: 0, epochs: 3, at: t0 }, epoch(0)],
    ctx,
    state,
  );
  const rest = mapFolds(
    record,
    'train',
    [epoch(1), epoch(2), { fold: 0, phase: 'end', epoch: 3, epochs: 3, at: t0 + 9000 }],
    ctx,
    state,
  );
  const atEnd = mapStage(record, 'train', [], ctx, state);

  it('creates the fold run when it starts, at its own start time, then sends its epochs as they come', () => {
    expect(ofKind(first.ops, 'create-run').map((c) => [c.scope, c.startTime])).toEqual([['fold-0', t0]]);
    expect(ofKind(first.ops, 'log-batch').flatMap((b) => b.metrics.map((m) => [m.key, m.step]))).toEqual([
      ['loss', series.loss![0]!.step],
      ['val_loss', series.val_loss![0]!.step],
    ]);
    expect(ofKind(rest.ops, 'update-run')).toEqual([
      { op: 'update-run', scope: 'fold-0', status: 'FINISHED', endTime: t0 + 9000 },
    ]);
  });

  it("at the stage's end: no second create, no curve point twice, and the run's end leaves the fold's end alone", () => {
    expect(ofKind(atEnd.ops, 'create-run')).toEqual([]);
    const fold = ofKind(atEnd.ops, 'log-batch')
      .filter((b) => b.scope === 'fold-0')
      .flatMap((b) => b.metrics.map((m) => m.key));
    expect(fold).not.toContain('loss');
    expect(fold).not.toContain('val_loss');
    expect(fold).toContain('rmse.A');
    const fin = mapFinish({ ...record, status: 'FINISHED', endedAt: '2026-11-25T10:00:05.000Z' }, ctx, state);
    expect(ofKind(fin.ops, 'update-run').map((u) => u.scope)).toEqual(['run']);
  });
});
