import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../../../src/tracking/mlflow/client.js';
import { syncTarget } from '../../../src/tracking/mlflow/sync.js';
import { MlflowTracker } from '../../../src/tracking/mlflow/tracker.js';
import { tempLayout } from '../../helpers/mlflow-kit.js';
import { trackStudyRun } from '../../helpers/mlflow-runs.js';
import { paramflow, quickProject } from '../../helpers/project.js';

// Against a real MLflow tracking server (see test/fixtures/mlflow/README.md for the version
// the double mirrors): PARAMFLOW_TEST_MLFLOW_URI=http://127.0.0.1:5000 npx vitest run test/tracking/mlflow
const URI = process.env.PARAMFLOW_TEST_MLFLOW_URI;
if (!URI)
  console.info('real MLflow server suite skipped: set PARAMFLOW_TEST_MLFLOW_URI=http://127.0.0.1:PORT to run it');

describe.skipIf(!URI)('against a real MLflow server', () => {
  const env = { ...process.env } as Record<string, string | undefined>;
  const experiment = `paramflow-test-${Date.now()}-${process.pid}`;
  let client: MlflowClient;

  beforeAll(() => {
    client = new MlflowClient({ uri: URI! });
  });
  afterAll(() => client.close());

  it('creates the experiment once, even when two clients race for it', async () => {
    const other = new MlflowClient({ uri: URI! });
    const [a, b] = await Promise.all([client.ensureExperiment(experiment), other.ensureExperiment(experiment)]);
    await other.close();
    expect(a.experiment_id).toBe(b.experiment_id);
  });

  it('logs a 3000-point curve in batches and reads it back through paged get-history', async () => {
    const exp = await client.ensureExperiment(experiment);
    const run = await client.createRun({ experimentId: exp.experiment_id, runName: 'batches', startTime: Date.now() });
    const { splitBatch } = await import('../../../src/tracking/mlflow/batch.js');
    const metrics = Array.from({ length: 3000 }, (_, i) => ({
      key: 'loss',
      value: 1 / (i + 1),
      timestamp: Date.now(),
      step: i,
    }));
    const batches = splitBatch({ metrics });
    expect(batches.length).toBeGreaterThanOrEqual(3);
    for (const b of batches) await client.logBatch(run.info.run_id, b);
    expect(await client.getMetricHistory(run.info.run_id, 'loss')).toHaveLength(3000);
    expect(await client.getMetricHistory(run.info.run_id, 'loss', { pageSize: 1000 })).toHaveLength(3000);
    await client.updateRun(run.info.run_id, { status: 'FINISHED', endTime: Date.now() });
  });

  it('tracks a study run online, with nested folds, artifacts and a params filter', async () => {
    const layout = tempLayout();
    const runId = `real-${Date.now()}`;
    const tracker = MlflowTracker.fromEnv(env, URI, { layout })!;
    const { result } = await trackStudyRun(layout, runId, tracker, { epochs: 8, folds: 2 });
    expect(result).toMatchObject({ synced: true, rejected: 0 });
    const exp = await client.ensureExperiment('curve-params');
    const found = await client.searchRuns({
      experimentIds: [exp.experiment_id],
      filter: `params.train.batch_size = '32' AND tags.paramflow.run_id = '${runId}'`,
    });
    expect(found.items.map((r) => r.info.run_id)).toEqual([result.runId]);
    const folds = await client.searchRuns({
      experimentIds: [exp.experiment_id],
      filter: `tags.mlflow.parentRunId = '${result.runId}'`,
    });
    const name = (await client.getRun(result.runId!)).info.run_name;
    expect(folds.items.map((r) => r.info.run_name).sort()).toEqual([`${name} fold-0`, `${name} fold-1`]);
    expect(await client.getMetricHistory(folds.items[0]!.info.run_id, 'loss')).toHaveLength(8);
    expect((await client.listArtifacts(result.runId!)).map((f) => f.path).sort()).toEqual([
      'pipeline.yaml',
      'plots',
      'run.json',
    ]);
  });

  it('a run spooled while unreachable syncs once, and a second sync sends nothing', async () => {
    const layout = tempLayout();
    const runId = `real-off-${Date.now()}`;
    const dead = MlflowTracker.fromEnv(env, 'http://127.0.0.1:9', {
      layout,
      retry: { retries: 0 },
      flushTimeoutMs: 200,
    })!;
    const { result } = await trackStudyRun(layout, runId, dead);
    expect(result.synced).toBe(false);
    const first = await syncTarget(layout, { kind: 'run', id: runId }, { env, uri: URI });
    expect(first).toMatchObject({ state: 'synced', pending: 0 });
    const second = await syncTarget(layout, { kind: 'run', id: runId }, { env, uri: URI });
    expect(second).toMatchObject({ state: 'synced', sent: 0 });
    const folds = await client.searchRuns({
      experimentIds: [(await client.ensureExperiment('curve-params')).experiment_id],
      filter: `tags.mlflow.parentRunId = '${first.mlflowRunId}'`,
    });
    expect(await client.getMetricHistory(folds.items[0]!.info.run_id, 'val_loss')).toHaveLength(5);
  });

  it("a pipeline run logs its model (READY, the run's output) and its datasets; `register` makes a version", async () => {
    const dir = quickProject();
    const runEnv = { MLFLOW_TRACKING_URI: URI!, MLFLOW_EXPERIMENT_NAME: experiment };
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--set', 'train.epochs=3'], { env: runEnv });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const { runId } = JSON.parse(String(r.stdout)) as { runId: string };
    const exp = (await client.getExperimentByName(experiment))!;
    const found = await client.searchRuns({
      experimentIds: [exp.experiment_id],
      filter: `tags.paramflow.run_id = '${runId}' AND tags.paramflow.scope = 'run'`,
    });
    const run = found.items[0]!;
    const modelId = run.data.tags!.find((t) => t.key === 'paramflow.model_id')!.value;
    const got = (await client.http.send({ method: 'GET', path: `/api/2.0/mlflow/logged-models/${modelId}` })) as {
      model: { info: { status: string; source_run_id: string } };
    };
    expect(got.model.info).toMatchObject({ status: 'LOGGED_MODEL_READY', source_run_id: run.info.run_id });
    const full = (await client.http.send({
      method: 'GET',
      path: `/api/2.0/mlflow/runs/get?run_id=${run.info.run_id}`,
    })) as { run: { inputs: { dataset_inputs: { dataset: { name: string } }[] }; outputs: unknown } };
    expect(full.run.inputs.dataset_inputs.map((d) => d.dataset.name)).toEqual(['simulate', 'noise', 'folds']);
    expect(full.run.outputs).toEqual({ model_outputs: [{ model_id: modelId, step: 0 }] });
    const name = `paramflow-test-${process.pid}-${Date.now()}`;
    const reg = await paramflow(dir, ['register', runId, '--name', name, '--json'], { env: runEnv });
    expect(reg.exitCode, String(reg.stderr)).toBe(0);
    expect(JSON.parse(String(reg.stdout))).toMatchObject({ name, version: '1', modelId });
  });
});
