import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mapStage, mapStart, newMappingState } from '../../../src/tracking/mlflow/mapping.js';
import type { SpooledOp } from '../../../src/tracking/mlflow/ops.js';
import { appendOps, readSpool, readState, spoolPath, statePath } from '../../../src/tracking/mlflow/spool.js';
import { mlflowState, syncAll, syncTarget } from '../../../src/tracking/mlflow/sync.js';
import { MlflowTracker } from '../../../src/tracking/mlflow/tracker.js';
import { RunStore } from '../../../src/tracking/run-store.js';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import { allFiles, FAST_RETRY, studyRecord, tempLayout } from '../../helpers/mlflow-kit.js';
import { mlflowView, trackStudyRun } from '../../helpers/mlflow-runs.js';
import { deadPid } from '../../helpers/processes.js';

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(() => double.down());
beforeEach(async () => {
  double.clearFaults();
  double.requireAuthorization = undefined;
  await double.up().catch(() => undefined); // a test may have left it down
});

const opts = { env: {}, retry: FAST_RETRY };
const tracker = (layout: ReturnType<typeof tempLayout>, env: Record<string, string> = {}) =>
  MlflowTracker.fromEnv(env, double.url, { layout, user: 'alice', retry: FAST_RETRY, flushTimeoutMs: 10_000 })!;

/** A study run tracked while the server is down for the whole run. */
async function offlineRun(runId: string, env: Record<string, string> = {}) {
  const layout = tempLayout();
  await double.down();
  const { result } = await trackStudyRun(layout, runId, tracker(layout, env));
  await double.up();
  return { layout, result };
}

describe('server down for a whole run', () => {
  it('the run finishes with tracking pending; sync makes the MLflow run equal to one logged online; a second sync changes nothing', async () => {
    const online = tempLayout();
    expect((await trackStudyRun(online, 'same-online', tracker(online))).result.synced).toBe(true);

    const { layout, result } = await offlineRun('same-offline');
    expect(result).toMatchObject({ synced: false, rejected: 0 });
    expect(result.message).toContain(`tracking pending (${result.pending} operations spooled)`);
    const ops = await readSpool(spoolPath(layout, 'same-offline'));
    expect(result.pending).toBe(ops.length);
    expect(ops.map((o) => o.seq)).toEqual(ops.map((_, i) => i + 1));
    expect(await mlflowState(layout, { kind: 'run', id: 'same-offline' })).toMatchObject({
      state: 'pending',
      label: `pending ${ops.length}`,
    });

    const first = await syncTarget(layout, { kind: 'run', id: 'same-offline' }, opts);
    expect(first).toMatchObject({ state: 'synced', sent: ops.length, pending: 0, rejected: 0 });
    expect(first.url).toContain(`/runs/${first.mlflowRunId}`);
    expect(mlflowView(double, 'same-offline')).toEqual(mlflowView(double, 'same-online'));

    const before = { requests: double.requests.length, state: double.snapshot() };
    const second = await syncTarget(layout, { kind: 'run', id: 'same-offline' }, opts);
    expect(second).toMatchObject({ state: 'synced', sent: 0, pending: 0 });
    expect(double.requests.length).toBe(before.requests);
    expect(double.snapshot()).toEqual(before.state);
    expect(await mlflowState(layout, { kind: 'run', id: 'same-offline' })).toMatchObject({
      state: 'synced',
      label: 'synced',
      mlflowRunId: first.mlflowRunId,
    });
  });

  it('killed between sending a batch and recording its ack: the resumed sync sends no duplicate', async () => {
    const { layout } = await offlineRun('killed-1');
    const metricBatches = (await readSpool(spoolPath(layout, 'killed-1'))).filter(
      (o) => o.op === 'log-batch' && o.metrics.length > 0,
    );
    const victim = metricBatches[2]!;
    const dying = await syncTarget(
      layout,
      { kind: 'run', id: 'killed-1' },
      {
        ...opts,
        afterSend: (op: SpooledOp) => {
          if (op.seq === victim.seq) throw new Error('SIGKILL'); // the process dies right here
        },
      },
    );
    expect(dying.state).toBe('pending');
    const st = await readState(statePath(layout, 'killed-1'));
    expect([st?.acked, st?.inFlight]).toEqual([victim.seq - 1, victim.seq]);

    const resumed = await syncTarget(layout, { kind: 'run', id: 'killed-1' }, opts);
    expect(resumed).toMatchObject({ state: 'synced', pending: 0 });
    const view = mlflowView(double, 'killed-1');
    for (const [scope, v] of Object.entries(view)) {
      for (const [key, points] of Object.entries(v.histories)) {
        const distinct = new Set(points.map((p) => p.join(':')));
        expect(points.length, `${scope} ${key}`).toBe(distinct.size);
      }
    }
    expect(view['fold-0']!.histories.loss).toHaveLength(5);
  });

  it('killed right after a create-run: the run is found again, not created twice', async () => {
    const { layout } = await offlineRun('killed-2');
    const create = (await readSpool(spoolPath(layout, 'killed-2'))).find(
      (o) => o.op === 'create-run' && o.scope === 'fold-1',
    )!;
    await syncTarget(
      layout,
      { kind: 'run', id: 'killed-2' },
      {
        ...opts,
        afterSend: (op: SpooledOp) =>
          void (op.seq === create.seq
            ? (() => {
                throw new Error('SIGKILL');
              })()
            : 0),
      },
    );
    await syncTarget(layout, { kind: 'run', id: 'killed-2' }, opts);
    const runs = [...double.store.runs.values()].filter((r) => r.tags.get('paramflow.run_id') === 'killed-2');
    expect(runs.map((r) => r.run_name).sort()).toEqual([
      'curve-params ffffffff',
      'curve-params ffffffff fold-0',
      'curve-params ffffffff fold-1',
    ]);
  });
});

describe('syncTarget edge cases', () => {
  it('a run whose process died before finish: its MLflow runs are closed as KILLED', async () => {
    const layout = tempLayout();
    const record = studyRecord('died-1');
    record.pid = await deadPid();
    await new RunStore(layout).write(record);
    // What the dead process left: its start and one stage spooled, nothing sent, no finish.
    const ctx = { user: 'alice', runDir: '.paramflow/runs/died-1', now: Date.now() };
    const state = newMappingState();
    const mapped = [mapStart(record, ctx, state), mapStage(record, 'train', [], ctx, state)];
    for (const f of mapped.flatMap((m) => m.files)) {
      mkdirSync(dirname(join(layout.root, f.file)), { recursive: true });
      writeFileSync(join(layout.root, f.file), f.content);
    }
    await appendOps(
      spoolPath(layout, 'died-1'),
      mapped.flatMap((m) => m.ops).map((op, i) => ({ ...op, seq: i + 1 }) as SpooledOp),
    );
    expect((await new RunStore(layout).read('died-1')).status).toBe('KILLED');

    expect((await syncTarget(layout, { kind: 'run', id: 'died-1' }, opts)).error).toBe(
      'no MLflow server: set MLFLOW_TRACKING_URI',
    ); // it never wrote where
    const r = await syncTarget(
      layout,
      { kind: 'run', id: 'died-1' },
      { ...opts, env: { MLFLOW_TRACKING_URI: double.url } },
    );
    expect(r.error).toBeUndefined();
    expect(r.state).toBe('synced');
    const view = mlflowView(double, 'died-1');
    expect(Object.values(view).map((v) => v.status)).toEqual(['KILLED', 'KILLED', 'KILLED']);
    expect(view['fold-1']!.histories.loss).toHaveLength(5);
    // The run's own metrics wait for its end, which never came: the sync logs those of its finished stages.
    const trainMetrics = Object.keys(record.stages.train!.metrics ?? {});
    expect(trainMetrics.length).toBeGreaterThan(0);
    for (const key of trainMetrics) expect(view.run!.histories[key], key).toHaveLength(1);
    expect(view.run!.histories['val_loss.mean']).toHaveLength(5);
  });

  it('a run that was never tracked is off; an unreachable server leaves it pending with the reason', async () => {
    const layout = tempLayout();
    expect(await syncTarget(layout, { kind: 'run', id: 'nothing' }, opts)).toMatchObject({ state: 'off', sent: 0 });
    expect(await mlflowState(layout, { kind: 'run', id: 'nothing' })).toEqual({
      state: 'off',
      label: 'off',
      pending: 0,
      rejected: 0,
    });
    const { layout: l2 } = await offlineRun('down-1');
    await double.down();
    const r = await syncTarget(l2, { kind: 'run', id: 'down-1' }, opts);
    expect(r.state).toBe('pending');
    expect(r.error).toContain('cannot reach');
    expect((await mlflowState(l2, { kind: 'run', id: 'down-1' })).lastError).toContain('cannot reach');
  });

  it('refuses to send to another server than the one a run was partly logged to', async () => {
    const { layout } = await offlineRun('moved-1');
    await syncTarget(
      layout,
      { kind: 'run', id: 'moved-1' },
      {
        ...opts,
        afterSend: (op: SpooledOp) =>
          void (op.seq === 3
            ? (() => {
                throw new Error('stop');
              })()
            : 0),
      },
    );
    const r = await syncTarget(
      layout,
      { kind: 'run', id: 'moved-1' },
      { ...opts, env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' } },
    );
    expect(r.error).toContain('was logged to');
    expect(r.sent).toBe(0);
  });

  it('a run spooled for a server that never answered goes to the one named now, which becomes its server', async () => {
    const layout = tempLayout();
    const dead = MlflowTracker.fromEnv({}, 'http://127.0.0.1:9', {
      layout,
      retry: { retries: 0 },
      flushTimeoutMs: 200,
    })!;
    await trackStudyRun(layout, 'switch-1', dead);
    const r = await syncTarget(layout, { kind: 'run', id: 'switch-1' }, { ...opts, uri: double.url });
    expect(r).toMatchObject({ state: 'synced', pending: 0 });
    expect(await mlflowState(layout, { kind: 'run', id: 'switch-1' })).toMatchObject({
      server: double.url,
      url: `${double.url}/#/experiments/1/runs/${r.mlflowRunId}`,
    });
  });

  it('syncAll sends every pending run and skips synced ones', async () => {
    const layout = tempLayout();
    await double.down();
    for (const id of ['all-1', 'all-2']) await trackStudyRun(layout, id, tracker(layout));
    await double.up();
    const results = await syncAll(layout, opts);
    expect(results.map((r) => [r.runId, r.state])).toEqual([
      ['all-1', 'synced'],
      ['all-2', 'synced'],
    ]);
    expect((await syncAll(layout, opts)).map((r) => r.sent)).toEqual([0, 0]);
  });

  it('syncAll with a deadline already passed sends nothing and says why', async () => {
    const { layout } = await offlineRun('late-1');
    const before = double.requests.length;
    const [r] = await syncAll(layout, { ...opts, deadline: Date.now() - 1 });
    expect(r).toMatchObject({ runId: 'late-1', state: 'pending', sent: 0 });
    expect(r?.error).toContain('out of time');
    expect(double.requests.length).toBe(before);
  });
});

describe('secrets', () => {
  const TOKEN = 'tok-NEVER-ON-DISK-42';
  const PASSWORD = 'pw-NEVER-ON-DISK-42';
  const BASIC = Buffer.from(`bob:${PASSWORD}`).toString('base64');

  it.each([
    ['token', { MLFLOW_TRACKING_TOKEN: TOKEN }, `Bearer ${TOKEN}`],
    ['password', { MLFLOW_TRACKING_USERNAME: 'bob', MLFLOW_TRACKING_PASSWORD: PASSWORD }, `Basic ${BASIC}`],
  ])('no %s in any file a run writes, across failures and a sync', async (_name, env, header) => {
    const { layout, result } = await offlineRun(`secret-${_name}`, env);
    double.requireAuthorization = header;
    const r = await syncTarget(layout, { kind: 'run', id: `secret-${_name}` }, { ...opts, env });
    expect(r.state).toBe('synced');
    expect(double.requests.at(-1)?.authorization).toBe(header);
    const messages = [result.message, JSON.stringify(r)].join('\n');
    for (const f of [...allFiles(layout.root).map((x) => x.text), messages]) {
      for (const secret of [TOKEN, PASSWORD, BASIC]) expect(f).not.toContain(secret);
    }
    expect(readFileSync(statePath(layout, `secret-${_name}`), 'utf8')).toContain(double.url);
  });
});
