import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { isMlflowError } from '../../src/tracking/mlflow/errors.js';
import { MlflowTracker } from '../../src/tracking/mlflow/tracker.js';
import { loadRun } from '../../src/tracking/load-run.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { FAST_RETRY, tempLayout } from '../helpers/mlflow-kit.js';
import { trackStudyRun } from '../helpers/mlflow-runs.js';
import { runRecord } from '../helpers/run-record.js';

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(() => double.down());

const tracker = (layout: ReturnType<typeof tempLayout>) =>
  MlflowTracker.fromEnv({}, double.url, { layout, user: 'alice', retry: FAST_RETRY, flushTimeoutMs: 10_000 })!;

/** The MLflow run id of the pipeline run (scope `run`) of a local run. */
function mlflowRunOf(runId: string, scope = 'run'): string {
  const r = [...double.store.runs.values()].find(
    (x) => x.tags.get('paramflow.run_id') === runId && x.tags.get('paramflow.scope') === scope,
  );
  if (!r) throw new Error(`no MLflow run for ${runId}/${scope}`);
  return r.run_id;
}

async function refusal(p: Promise<unknown>): Promise<ParamflowError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParamflowError);
  return err as ParamflowError;
}

describe('loadRun: local references', () => {
  it('finds a run by id, hash or stage key prefix, and adds the MLflow run its sync state recorded', async () => {
    const layout = tempLayout();
    const { record } = await trackStudyRun(layout, '20261125-100000-000-aaaa', tracker(layout));
    const byId = await loadRun('20261125-100000', { layout, env: {} });
    expect(byId.source).toBe('local');
    expect(byId.record.runId).toBe(record.runId);
    const mlflowId = mlflowRunOf(record.runId);
    expect(byId.mlflow).toEqual({
      runId: mlflowId,
      experimentId: expect.any(String),
      url: `${double.url}/#/experiments/${byId.mlflow!.experimentId}/runs/${mlflowId}`,
    });
    expect((await loadRun(record.runHash.slice(0, 8), { layout, env: {} })).record.runId).toBe(record.runId);
    expect((await loadRun(record.stages.train!.key.slice(0, 8), { layout, env: {} })).record.runId).toBe(record.runId);
  });

  it('a local run never logged to MLflow has no MLflow link', async () => {
    const layout = tempLayout();
    await new RunStore(layout).write(runRecord('20260101-000000-000-1111', { simulate: 'e'.repeat(64) }));
    const loaded = await loadRun('2026', { layout, env: {} });
    expect(loaded.mlflow).toBeUndefined();
  });

  it('ambiguity lists the candidates, and does not go on to MLflow', async () => {
    const layout = tempLayout();
    const store = new RunStore(layout);
    await store.write(runRecord('20260101-000000-000-1111', {}, { runHash: 'ab'.repeat(32) }));
    await store.write(runRecord('20260101-000000-000-2222', {}, { runHash: 'ac'.repeat(32) }));
    const before = double.requests.length;
    const err = await refusal(loadRun('a', { layout, env: { MLFLOW_TRACKING_URI: double.url } }));
    expect(err.code).toBe('PF_BAD_REF');
    expect(err.message).toMatch(/more than one/);
    expect(err.message).toContain('abababab');
    expect(err.message).toContain('acacacac');
    expect(double.requests.length).toBe(before);
  });

  it('no local match and no MLflow server: PF_BAD_REF with a hint naming MLFLOW_TRACKING_URI for an MLflow-like id', async () => {
    const layout = tempLayout();
    const err = await refusal(loadRun('0123456789abcdef0123456789abcdef', { layout, env: {} }));
    expect(err.code).toBe('PF_BAD_REF');
    expect(err.exitCode).toBe(2);
    expect(err.hint).toMatch(/MLFLOW_TRACKING_URI/);
    const forced = await refusal(loadRun('runs:/0123456789abcdef0123456789abcdef', { layout, env: {} }));
    expect(forced.hint).toMatch(/MLFLOW_TRACKING_URI/);
  });

  it('a ref that cannot be an MLflow id is not sent to the server', async () => {
    const layout = tempLayout();
    const before = double.requests.length;
    const err = await refusal(loadRun('nope', { layout, env: { MLFLOW_TRACKING_URI: double.url } }));
    expect(err.code).toBe('PF_BAD_REF');
    expect(double.requests.length).toBe(before);
  });
});

describe('loadRun: MLflow run ids', () => {
  it("with an empty local store, downloads run.json and pipeline.yaml from the run's artifacts", async () => {
    const a = tempLayout();
    const { record } = await trackStudyRun(a, '20261125-110000-000-bbbb', tracker(a));
    const empty = tempLayout();
    const id = mlflowRunOf(record.runId);
    const loaded = await loadRun(id, { layout: empty, env: { MLFLOW_TRACKING_URI: double.url } });
    expect(loaded.source).toBe('mlflow');
    expect(loaded.record.runId).toBe(record.runId);
    expect(loaded.record.runHash).toBe(record.runHash);
    expect(loaded.record.stages.train!.details).toEqual(record.stages.train!.details);
    expect(loaded.mlflow?.runId).toBe(id);
    expect(loaded.mlflow?.url).toBe(`${double.url}/#/experiments/${loaded.mlflow!.experimentId}/runs/${id}`);
    expect(loaded.pipelineYaml).toMatch(/name: curve-params/);
    // runs:/<id> forces MLflow, and a fold's nested run leads to its pipeline run.
    expect(
      (await loadRun(`runs:/${id}`, { layout: empty, env: { MLFLOW_TRACKING_URI: double.url } })).record.runId,
    ).toBe(record.runId);
    const fold = await loadRun(mlflowRunOf(record.runId, 'fold-0'), {
      layout: empty,
      env: { MLFLOW_TRACKING_URI: double.url },
    });
    expect(fold.mlflow?.runId).toBe(id);
  });

  it('an MLflow id whose paramflow run is in the local store reads the local record', async () => {
    const a = tempLayout();
    const { record } = await trackStudyRun(a, '20261125-120000-000-cccc', tracker(a));
    const loaded = await loadRun(`runs:/${mlflowRunOf(record.runId)}`, {
      layout: a,
      env: { MLFLOW_TRACKING_URI: double.url },
    });
    expect(loaded.source).toBe('local');
    expect(loaded.record).toEqual(await new RunStore(a).read(record.runId));
  });

  it('an id the server does not know: PF_BAD_REF (exit 2)', async () => {
    const err = await refusal(
      loadRun('00000000000000000000000000000000', { layout: tempLayout(), env: { MLFLOW_TRACKING_URI: double.url } }),
    );
    expect(err.code).toBe('PF_BAD_REF');
    expect(err.message).toMatch(/has no run with that id/);
  });

  it('an MLflow run paramflow did not log is refused with a hint', async () => {
    const exp = double.store.createExperiment({ name: `foreign-${Date.now()}` }).json as { experiment_id: string };
    const run = double.store.createRun({ experiment_id: exp.experiment_id, start_time: Date.now() });
    const err = await refusal(
      loadRun(`runs:/${run.run_id}`, { layout: tempLayout(), env: { MLFLOW_TRACKING_URI: double.url } }),
    );
    expect(err.message).toMatch(/not logged by paramflow/);
  });

  it('a run without its run.json artifact (killed before its end) is refused, naming why', async () => {
    const exp = double.store.createExperiment({ name: `half-${Date.now()}` }).json as { experiment_id: string };
    const run = double.store.createRun({
      experiment_id: exp.experiment_id,
      start_time: Date.now(),
      tags: [
        { key: 'paramflow.run_id', value: 'r1' },
        { key: 'paramflow.scope', value: 'run' },
      ],
    });
    const err = await refusal(
      loadRun(`runs:/${run.run_id}`, { layout: tempLayout(), env: { MLFLOW_TRACKING_URI: double.url } }),
    );
    expect(err.message).toMatch(/no run\.json artifact/);
  });

  it('a server that cannot be reached is an MLflow failure naming the server, not a bad reference', async () => {
    const gone = await MlflowDouble.start();
    const url = gone.url;
    await gone.down();
    const err = await loadRun('0123456789abcdef0123456789abcdef', {
      layout: tempLayout(),
      env: { MLFLOW_TRACKING_URI: url },
      retry: FAST_RETRY,
    }).catch((e: unknown) => e);
    expect(isMlflowError(err)).toBe(true);
    expect((err as Error).message).toMatch(/cannot reach/);
    expect((err as Error).message).toContain(url);
  });
});
