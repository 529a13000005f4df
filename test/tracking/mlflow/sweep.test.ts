import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Layout } from '../../../src/project/layout.js';
import type { SweepRecord } from '../../../src/tracking/sweep-record.js';
import { SweepStore } from '../../../src/sweep/store.js';
import type { SpooledOp } from '../../../src/tracking/mlflow/ops.js';
import { appendOps, readSpool, sweepSpool } from '../../../src/tracking/mlflow/spool.js';
import { mapSweepStart, shortKeys, sweepDirOf, trialNamer } from '../../../src/tracking/mlflow/sweep-mapping.js';
import { PARENT_ENV, SweepTracker, sweepLinkFromEnv } from '../../../src/tracking/mlflow/sweep.js';
import { linkedRunId } from '../../../src/tracking/mlflow/ops.js';
import { mlflowState, syncAll, syncTarget } from '../../../src/tracking/mlflow/sync.js';
import { MlflowTracker } from '../../../src/tracking/mlflow/tracker.js';
import { HOST } from '../../../src/util/process-alive.js';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import type { DoubleRun } from '../../helpers/mlflow-double-store.js';
import { allFiles, FAST_RETRY, tempLayout } from '../../helpers/mlflow-kit.js';
import { trackStudyRun } from '../../helpers/mlflow-runs.js';
import { deadPid } from '../../helpers/processes.js';

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(() => double.down());
beforeEach(async () => {
  double.clearFaults();
  await double.up().catch(() => undefined);
});

const opts = { env: {}, retry: FAST_RETRY };

/** A 2-trial × 2-replicate sweep of the study pipeline, as runSweep records it. */
function sweepRecord(sweepId: string): SweepRecord {
  const trial = (id: string, bs: number) => ({
    id,
    values: { 'train.batch_size': bs, 'noise.gaussian.relative': 0.05 },
    replicates: [0, 1].map((r) => ({ replicate: r, seed: 7 + r, status: 'pending' as const, attempts: 0 })),
  });
  return {
    format: 1,
    sweepId,
    pipeline: { name: 'curve-params', file: 'pipelines/study.yaml', experiment: 'curve-params' },
    spec: {
      grid: { 'train.batch_size': [16, 32], 'noise.gaussian.relative': [0.05] },
      replicates: 2,
      objective: { metric: 'cv_rmse_mean', goal: 'minimize' },
    },
    overrides: ['train.epochs=2'],
    status: 'RUNNING',
    pid: process.pid,
    host: HOST,
    startedAt: '2026-11-25T10:00:00.000Z',
    trials: [trial('t00000016', 16), trial('t00000032', 32)],
  };
}

/** Ends the sweep as runSweep does: each replicate's run and objective, the best trial, the status. */
async function endSweep(layout: Layout, record: SweepRecord, runIds: string[][]): Promise<void> {
  record.trials.forEach((t, i) =>
    t.replicates.forEach((r, j) =>
      Object.assign(r, {
        status: 'FINISHED',
        attempts: 1,
        runId: runIds[i]![j],
        objective: 0.2 - 0.01 * i + 0.001 * j,
      }),
    ),
  );
  const best = record.trials[1]!;
  best.objective = { mean: 0.1905, std: 0.000707, n: 2 };
  record.trials[0]!.objective = { mean: 0.2005, std: 0.000707, n: 2 };
  record.best = { trial: best.id, values: best.values, objective: best.objective };
  record.status = 'FINISHED';
  record.endedAt = '2026-11-25T10:05:00.000Z';
  await new SweepStore(layout).write(record);
}

const sweepTracker = (layout: Layout, extra: Partial<Parameters<typeof SweepTracker.fromEnv>[2]> = {}) =>
  SweepTracker.fromEnv({}, double.url, { layout, user: 'alice', retry: FAST_RETRY, flushTimeoutMs: 10_000, ...extra })!;

/** One trial replicate's worker: a study run tracked with the environment the sweep gives it. */
const trialRun = (
  layout: Layout,
  tracker: SweepTracker,
  record: SweepRecord,
  t: number,
  r: number,
  runId: string,
  extra = {},
) =>
  trackStudyRun(
    layout,
    runId,
    MlflowTracker.fromEnv(tracker.workerEnv(record.trials[t]!, r), double.url, {
      layout,
      user: 'alice',
      retry: FAST_RETRY,
      flushTimeoutMs: 10_000,
      ...extra,
    })!,
  );

/** The sweep's MLflow runs as a tree of names through `mlflow.parentRunId`. */
function tree(sweepId: string): { parent: DoubleRun; names: unknown } {
  const all = [...double.store.runs.values()];
  const parents = all.filter(
    (r) => r.tags.get('paramflow.sweep_id') === sweepId && r.tags.get('paramflow.scope') === 'sweep',
  );
  expect(parents).toHaveLength(1);
  const names = (r: DoubleRun): unknown => {
    const kids = all
      .filter((c) => c.tags.get('mlflow.parentRunId') === r.run_id)
      .sort((a, b) => a.run_name.localeCompare(b.run_name));
    return kids.length === 0 ? `${r.run_name} ${r.status}` : { [`${r.run_name} ${r.status}`]: kids.map(names) };
  };
  return { parent: parents[0]!, names: names(parents[0]!) };
}

// A fold's run is named after its trial's, so a legend across trials says which is which.
const trial = (name: string) => ({ [`${name} FINISHED`]: [`${name} fold-0 FINISHED`, `${name} fold-1 FINISHED`] });
const expectedTree = (sweepId: string) => ({
  [`curve-params sweep ${sweepId.slice('sweep-'.length)} FINISHED`]: [
    trial('batch_size=16 rep=0'),
    trial('batch_size=16 rep=1'),
    trial('batch_size=32 rep=0'),
    trial('batch_size=32 rep=1'),
  ],
});

describe('trial run names', () => {
  it('carry the values that vary under short keys, and the replicate when there are several', () => {
    const trials = [
      {
        id: 'a',
        values: {
          'train.batch_size': 16,
          'train.optimizer.adam.lr': 0.0012345678,
          'sched.lr': 1,
          'train.bn_out': false,
          fixed: 'x',
        },
      },
      {
        id: 'b',
        values: {
          'train.batch_size': 65536,
          'train.optimizer.adam.lr': 0.01,
          'sched.lr': 2,
          'train.bn_out': true,
          fixed: 'x',
        },
      },
    ];
    const one = trialNamer(trials, 1);
    expect(one(trials[0]!, 0)).toBe('batch_size=16 adam.lr=0.001235 sched.lr=1 bn_out=false');
    expect(one(trials[1]!, 0)).toBe('batch_size=65536 adam.lr=0.01 sched.lr=2 bn_out=true');
    expect(trialNamer(trials, 3)(trials[1]!, 2)).toBe('batch_size=65536 adam.lr=0.01 sched.lr=2 bn_out=true rep=2');
    // a single trial: nothing varies, so its values are its name
    expect(trialNamer([trials[0]!], 1)(trials[0]!, 0)).toContain('fixed=x');
    expect(shortKeys(['a.b.c', 'x.b.c', 'y.c', 'd'])).toEqual(
      new Map([
        ['a.b.c', 'a.b.c'],
        ['x.b.c', 'x.b.c'],
        ['y.c', 'y.c'],
        ['d', 'd'],
      ]),
    );
    expect(shortKeys(['train.batch_size', 'noise.gaussian.relative'])).toEqual(
      new Map([
        ['train.batch_size', 'batch_size'],
        ['noise.gaussian.relative', 'relative'],
      ]),
    );
  });

  it('the link a sweep gives its workers is read back; a malformed one is ignored', () => {
    expect(sweepLinkFromEnv({ [PARENT_ENV]: JSON.stringify({ sweep: 'sweep-1', runName: 'bs=16' }) })).toEqual({
      sweep: 'sweep-1',
      runName: 'bs=16',
    });
    expect(sweepLinkFromEnv({ [PARENT_ENV]: '{nope' })).toBeUndefined();
    expect(sweepLinkFromEnv({ [PARENT_ENV]: JSON.stringify({ sweep: "x' OR 1=1", runName: 'a' }) })).toBeUndefined();
    expect(sweepLinkFromEnv({})).toBeUndefined();
  });

  it('a link for a worker in another folder carries the parent run id and its server; the id is used only on that server', () => {
    const link = { sweep: 'sweep-1', runName: 'bs=16', parentRunId: 'abc123', server: 'http://mlflow:5000' };
    expect(sweepLinkFromEnv({ [PARENT_ENV]: JSON.stringify(link) })).toEqual(link);
    // an id that is not an MLflow id is dropped (the symbolic link remains)
    expect(sweepLinkFromEnv({ [PARENT_ENV]: JSON.stringify({ ...link, parentRunId: '../x' }) })).toEqual({
      sweep: 'sweep-1',
      runName: 'bs=16',
      server: 'http://mlflow:5000',
    });
    // an id without its server is not used (the link stays symbolic)
    expect(
      sweepLinkFromEnv({ [PARENT_ENV]: JSON.stringify({ sweep: 'sweep-1', runName: 'bs=16', parentRunId: 'abc123' }) }),
    ).toEqual({ sweep: 'sweep-1', runName: 'bs=16' });
    expect(linkedRunId({ sweep: 'sweep-1', runId: 'abc123', server: 'http://mlflow:5000' }, 'http://mlflow:5000')).toBe(
      'abc123',
    );
    expect(linkedRunId({ sweep: 'sweep-1' }, 'http://mlflow:5000')).toBeUndefined();
    expect(() =>
      linkedRunId({ sweep: 'sweep-1', runId: 'abc123', server: 'http://mlflow:5000' }, 'http://other:5000'),
    ).toThrow(/logged to http:\/\/mlflow:5000, this run to http:\/\/other:5000/);
  });
});

describe('a sweep logged online', () => {
  it('a parent run with the trial replicates nested under it and their folds under them; the best trial on the parent', async () => {
    const layout = tempLayout();
    const record = sweepRecord('sweep-on');
    const parent = sweepTracker(layout);
    await parent.start(record, { name: 'curve-params', stages: {} });
    expect(JSON.parse(parent.workerEnv(record.trials[0]!, 1)[PARENT_ENV]!)).toEqual({
      sweep: 'sweep-on',
      runName: 'batch_size=16 rep=1',
    });
    const ids = [
      ['on-16-0', 'on-16-1'],
      ['on-32-0', 'on-32-1'],
    ];
    for (const [t, row] of ids.entries())
      for (const [r, id] of row.entries())
        expect((await trialRun(layout, parent, record, t, r, id)).result.synced).toBe(true);
    await endSweep(layout, record, ids);
    const result = await parent.finish(record);
    expect(result).toMatchObject({ synced: true, pending: 0, rejected: 0 });
    expect(result.message).toContain(`logged to MLflow: ${double.url}/#/experiments/`);

    const { parent: run, names } = tree('sweep-on');
    expect(names).toEqual(expectedTree(record.sweepId));
    expect(result.runId).toBe(run.run_id);
    expect(Object.fromEntries(run.params)).toEqual({
      'sweep.grid.train.batch_size': '[16,32]',
      'sweep.grid.noise.gaussian.relative': '[0.05]',
      'sweep.replicates': '2',
      'sweep.objective.metric': 'cv_rmse_mean',
      'sweep.objective.goal': 'minimize',
      'train.batch_size': '32',
      'noise.gaussian.relative': '0.05',
    });
    // The objective as the best so far after each trial (its last point the best), and the best's spread.
    const objective = run.metrics.filter((m) => m.key === 'cv_rmse_mean');
    expect(objective.map((m) => m.step)).toEqual([1, 2]);
    expect(objective[1]!.value).toBe(0.1905);
    expect(objective[0]!.value).toBeGreaterThanOrEqual(0.1905);
    expect(run.metrics.filter((m) => m.key !== 'cv_rmse_mean').map((m) => [m.key, m.value, m.step])).toEqual([
      ['cv_rmse_mean_std', 0.000707, 0],
    ]);
    expect(Object.fromEntries(run.tags)).toMatchObject({
      'mlflow.user': 'alice',
      'mlflow.source.name': 'pipelines/study.yaml',
      'paramflow.pipeline': 'curve-params',
      'paramflow.objective': 'cv_rmse_mean (minimize)',
      'paramflow.best_trial': 't00000032',
      'paramflow.best_runs': 'on-32-0,on-32-1',
      'paramflow.best_replicates': '2',
      'paramflow.trials.finished': '4',
    });
    // The best replicates' MLflow ids too: the runs whose paramflow ids are on-32-0 and on-32-1.
    const mlflowIdOf = (id: string) =>
      [...double.store.runs.values()].find(
        (r) => r.tags.get('paramflow.run_id') === id && r.tags.get('paramflow.scope') === 'run',
      )?.run_id;
    expect(run.tags.get('paramflow.best_mlflow_runs')).toBe(`${mlflowIdOf('on-32-0')},${mlflowIdOf('on-32-1')}`);
    expect(run.tags.get('paramflow.sweep_hash')).toMatch(/^[0-9a-f]{64}$/);
    expect(run.end_time).toBe(Date.parse('2026-11-25T10:05:00.000Z'));
    const artifacts = [...double.store.artifacts.keys()]
      .filter((k) => k.includes(`/${run.run_id}/artifacts/`))
      .map((k) => k.split('/artifacts/')[1])
      .sort();
    expect(artifacts).toEqual(['sweep.json', 'sweep.yaml']);
    expect(await mlflowState(layout, { kind: 'sweep', id: 'sweep-on' })).toMatchObject({
      state: 'synced',
      mlflowRunId: run.run_id,
    });
  });

  it('a worker that starts before the sweep created its run waits for it', async () => {
    const layout = tempLayout();
    const record = sweepRecord('sweep-early');
    const parent = sweepTracker(layout);
    // The worker's environment is known before the sweep's spool exists.
    const env = { [PARENT_ENV]: JSON.stringify({ sweep: 'sweep-early', runName: 'early' }) };
    const worker = trackStudyRun(
      layout,
      'early-1',
      MlflowTracker.fromEnv(env, double.url, { layout, retry: FAST_RETRY, flushTimeoutMs: 10_000 })!,
    );
    await delay(300);
    await parent.start(record);
    expect((await worker).result.synced).toBe(true);
    const { parent: run } = tree('sweep-early');
    const trial = [...double.store.runs.values()].find(
      (r) => r.tags.get('paramflow.run_id') === 'early-1' && r.tags.get('paramflow.scope') === 'run',
    )!;
    expect(trial.run_name).toBe('early');
    expect(trial.tags.get('mlflow.parentRunId')).toBe(run.run_id);
    await endSweep(layout, record, [
      ['early-1', 'early-1'],
      ['early-1', 'early-1'],
    ]);
    expect((await parent.finish(record)).synced).toBe(true);
  });
});

describe('a sweep logged while the server is down', () => {
  it('spools everything; syncAll sends the sweep first, then its trials, into the same tree; a second sync sends nothing', async () => {
    const layout = tempLayout();
    const record = sweepRecord('sweep-off');
    await double.down();
    const parent = sweepTracker(layout, { flushTimeoutMs: 300 });
    await parent.start(record);
    const ids = [
      ['off-16-0', 'off-16-1'],
      ['off-32-0', 'off-32-1'],
    ];
    for (const [t, row] of ids.entries())
      for (const [r, id] of row.entries())
        expect((await trialRun(layout, parent, record, t, r, id, { flushTimeoutMs: 300 })).result.synced).toBe(false);
    await endSweep(layout, record, ids);
    const result = await parent.finish(record);
    expect(result).toMatchObject({ synced: false });
    expect(result.message).toMatch(/^tracking pending/);
    // the trials' spools name their parent by the sweep, never by an MLflow id
    const create = (await readSpool(join(layout.run('off-16-0'), 'mlflow-spool.jsonl'))).find(
      (o) => o.op === 'create-run' && o.scope === 'run',
    );
    expect(create).toMatchObject({ parent: { sweep: 'sweep-off' }, runName: 'batch_size=16 rep=0' });
    expect(await mlflowState(layout, { kind: 'sweep', id: 'sweep-off' })).toMatchObject({ state: 'pending' });
    await double.up();

    const results = await syncAll(layout, opts);
    expect(results.map((r) => [r.runId, r.state])).toEqual([
      ['sweep-off', 'synced'],
      ...ids
        .flat()
        .sort()
        .map((id) => [id, 'synced']),
    ]);
    expect(tree('sweep-off').names).toEqual(expectedTree(record.sweepId));
    expect([...new Set(tree('sweep-off').parent.metrics.map((m) => m.key))]).toEqual([
      'cv_rmse_mean',
      'cv_rmse_mean_std',
    ]);

    const before = { requests: double.requests.length, state: JSON.stringify(double.snapshot()) };
    expect((await syncAll(layout, opts)).map((r) => r.sent)).toEqual([0, 0, 0, 0, 0]);
    expect(double.requests.length).toBe(before.requests);
    expect(JSON.stringify(double.snapshot())).toBe(before.state);
  });

  it('`sync <trial run>` alone syncs its sweep first, so the trial is nested all the same', async () => {
    const layout = tempLayout();
    const record = sweepRecord('sweep-alone');
    await double.down();
    const parent = sweepTracker(layout, { flushTimeoutMs: 300 });
    await parent.start(record);
    await trialRun(layout, parent, record, 1, 0, 'alone-1', { flushTimeoutMs: 300 });
    await endSweep(layout, record, [
      ['alone-1', 'alone-1'],
      ['alone-1', 'alone-1'],
    ]);
    await parent.finish(record);
    await double.up();

    const r = await syncTarget(layout, { kind: 'run', id: 'alone-1' }, opts);
    expect(r).toMatchObject({ state: 'synced', pending: 0 });
    expect(await mlflowState(layout, { kind: 'sweep', id: 'sweep-alone' })).toMatchObject({ state: 'synced' });
    const { parent: run } = tree('sweep-alone');
    const trial = [...double.store.runs.values()].find((x) => x.run_id === r.mlflowRunId)!;
    expect(trial.tags.get('mlflow.parentRunId')).toBe(run.run_id);
    expect(trial.run_name).toBe('batch_size=32 rep=0');
  });

  it('the server back before the sweep ends: the parent is created, and the trial runs that waited for it are sent at the end', async () => {
    const layout = tempLayout();
    const record = sweepRecord('sweep-back');
    await double.down();
    const parent = sweepTracker(layout);
    await parent.start(record);
    await trialRun(layout, parent, record, 0, 0, 'back-1', { flushTimeoutMs: 300 });
    expect((await mlflowState(layout, { kind: 'run', id: 'back-1' })).state).toBe('pending');
    await double.up();
    await endSweep(layout, record, [
      ['back-1', 'back-1'],
      ['back-1', 'back-1'],
    ]);
    expect((await parent.finish(record)).synced).toBe(true);
    expect((await mlflowState(layout, { kind: 'run', id: 'back-1' })).state).toBe('synced');
    const trial = [...double.store.runs.values()].find(
      (x) => x.tags.get('paramflow.run_id') === 'back-1' && x.tags.get('paramflow.scope') === 'run',
    )!;
    expect(trial.tags.get('mlflow.parentRunId')).toBe(tree('sweep-back').parent.run_id);
  });

  it('a sweep whose process died: sync closes its run as KILLED; no credentials in its files', async () => {
    const layout = tempLayout();
    const record = sweepRecord('sweep-died');
    record.pid = await deadPid();
    await new SweepStore(layout).write(record);
    const ctx = { user: 'alice', sweepDir: sweepDirOf(layout, 'sweep-died'), now: Date.now() };
    const mapped = mapSweepStart(record, ctx);
    for (const f of mapped.files) {
      mkdirSync(dirname(join(layout.root, f.file)), { recursive: true });
      writeFileSync(join(layout.root, f.file), f.content);
    }
    await appendOps(
      sweepSpool(layout, 'sweep-died').spool,
      mapped.ops.map((op, i) => ({ ...op, seq: i + 1 }) as SpooledOp),
    );
    const env = { MLFLOW_TRACKING_URI: double.url, MLFLOW_TRACKING_TOKEN: 'tok-NEVER-ON-DISK-7' };
    const r = await syncTarget(layout, { kind: 'sweep', id: 'sweep-died' }, { ...opts, env });
    expect(r).toMatchObject({ state: 'synced', pending: 0 });
    expect(tree('sweep-died').parent.status).toBe('KILLED');
    for (const f of allFiles(layout.root)) expect(f.text).not.toContain('tok-NEVER-ON-DISK-7');
  });
});
