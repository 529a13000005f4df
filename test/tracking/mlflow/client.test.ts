import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ParamflowError } from '../../../src/util/errors.js';
import { MlflowClient } from '../../../src/tracking/mlflow/client.js';
import { MlflowError } from '../../../src/tracking/mlflow/errors.js';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import { fakeClock } from '../../helpers/mlflow-kit.js';

let double: MlflowDouble;
let client: MlflowClient;

beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(() => double.down());
beforeEach(async () => {
  await client?.close();
  double.clearFaults();
  client = new MlflowClient({ uri: double.url, clock: fakeClock() });
});

const failure = async (p: Promise<unknown>): Promise<MlflowError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MlflowError);
  return err as MlflowError;
};

describe('MlflowClient: experiments', () => {
  it('creates, gets, gets by name and searches', async () => {
    const id = await client.createExperiment('exp-a', [{ key: 'team', value: 'ml' }]);
    expect((await client.getExperiment(id)).name).toBe('exp-a');
    expect((await client.getExperimentByName('exp-a'))?.experiment_id).toBe(id);
    expect(await client.getExperimentByName('no-such')).toBeUndefined();
    const found = await client.searchExperiments({ filter: "name = 'exp-a'" });
    expect(found.items.map((e) => e.experiment_id)).toEqual([id]);
  });

  it('refuses a duplicate name with RESOURCE_ALREADY_EXISTS, and ensureExperiment re-reads it', async () => {
    const id = await client.createExperiment('exp-dup');
    const err = await failure(client.createExperiment('exp-dup'));
    expect([err.status, err.errorCode, err.endpoint]).toEqual([
      400,
      'RESOURCE_ALREADY_EXISTS',
      'POST mlflow/experiments/create',
    ]);
    expect((await client.ensureExperiment('exp-dup')).experiment_id).toBe(id);
  });

  it('two clients creating one experiment at once both end with the same one', async () => {
    const other = new MlflowClient({ uri: double.url });
    double.fault({ kind: 'barrier', count: 2, match: 'get-by-name' }); // both look before either creates: both create
    const [a, b] = await Promise.all([client.ensureExperiment('race'), other.ensureExperiment('race')]);
    await other.close();
    expect(a.experiment_id).toBe(b.experiment_id);
    expect(double.calls('experiments/create').filter((r) => r.body.includes('"race"'))).toHaveLength(2);
    expect([...double.store.experiments.values()].filter((e) => e.name === 'race')).toHaveLength(1);
  });

  it('a missing experiment is 404 RESOURCE_DOES_NOT_EXIST, not retried', async () => {
    const before = double.requests.length;
    const err = await failure(client.getExperiment('987654'));
    expect([err.status, err.errorCode, err.permanent]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST', true]);
    expect(err.message).toContain('No Experiment with id=987654');
    expect(double.requests.length - before).toBe(1);
  });
});

describe('MlflowClient: runs', () => {
  it('creates nested runs, logs a batch, updates, gets, searches, tags and deletes', async () => {
    const exp = await client.ensureExperiment('runs');
    const parent = await client.createRun({
      experimentId: exp.experiment_id,
      runName: 'parent',
      startTime: 1000,
      tags: [{ key: 'mlflow.user', value: 'me' }],
    });
    const child = await client.createRun({
      experimentId: exp.experiment_id,
      runName: 'fold-0',
      startTime: 1001,
      tags: [{ key: 'mlflow.parentRunId', value: parent.info.run_id }],
    });
    expect(child.info.status).toBe('RUNNING');
    expect(child.info.artifact_uri).toBe(`mlflow-artifacts:/${exp.experiment_id}/${child.info.run_id}/artifacts`);
    await client.logBatch(child.info.run_id, {
      params: [{ key: 'train.batch_size', value: '32' }],
      metrics: [0, 1, 2].map((s) => ({ key: 'loss', value: 1 / (s + 1), timestamp: 2000 + s, step: s })),
      tags: [{ key: 'stage', value: 'train' }],
    });
    await client.setTag(child.info.run_id, 'note', 'hello');
    const info = await client.updateRun(child.info.run_id, { status: 'FINISHED', endTime: 3000 });
    expect([info.status, info.end_time]).toEqual(['FINISHED', 3000]);
    const got = await client.getRun(child.info.run_id);
    expect(got.data.params).toEqual([{ key: 'train.batch_size', value: '32' }]);
    expect(got.data.metrics).toEqual([{ key: 'loss', value: 1 / 3, timestamp: 2002, step: 2 }]); // latest only
    expect(got.data.tags).toContainEqual({ key: 'note', value: 'hello' });
    const byParam = await client.searchRuns({
      experimentIds: [exp.experiment_id],
      filter: "params.train.batch_size = '32'",
    });
    expect(byParam.items.map((r) => r.info.run_id)).toEqual([child.info.run_id]);
    const children = await client.searchRuns({
      experimentIds: [exp.experiment_id],
      filter: `tags.mlflow.parentRunId = '${parent.info.run_id}'`,
    });
    expect(children.items).toHaveLength(1);
    await client.deleteRun(parent.info.run_id);
    const err = await failure(client.logBatch(parent.info.run_id, { params: [{ key: 'a', value: 'b' }] }));
    expect([err.status, err.errorCode]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
  });

  it('params are immutable: the same value again is fine, another one is refused for good', async () => {
    const exp = await client.ensureExperiment('params');
    const run = await client.createRun({ experimentId: exp.experiment_id, startTime: 1 });
    await client.logBatch(run.info.run_id, { params: [{ key: 'x', value: '1' }] });
    await client.logBatch(run.info.run_id, { params: [{ key: 'x', value: '1' }] });
    const err = await failure(client.logBatch(run.info.run_id, { params: [{ key: 'x', value: '2' }] }));
    expect([err.status, err.errorCode, err.permanent]).toEqual([400, 'INVALID_PARAMETER_VALUE', true]);
  });

  it('get-history always sends max_results and follows next_page_token to the end', async () => {
    const exp = await client.ensureExperiment('history');
    const run = await client.createRun({ experimentId: exp.experiment_id, startTime: 1 });
    await client.logBatch(run.info.run_id, {
      metrics: Array.from({ length: 10 }, (_, s) => ({ key: 'loss', value: s, timestamp: 5, step: s })),
    });
    const paged = await client.getMetricHistory(run.info.run_id, 'loss', { pageSize: 3 });
    expect(paged.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(
      double
        .calls('metrics/get-history')
        .slice(-4)
        .map((r) => new URL(r.path, 'http://x').searchParams.get('max_results')),
    ).toEqual(['3', '3', '3', '3']);
    const all = await client.getMetricHistory(run.info.run_id, 'loss');
    expect(all).toHaveLength(10);
    expect(double.calls('metrics/get-history').at(-1)!.path).toContain('max_results=25000');
    expect(await client.getMetricHistory(run.info.run_id, 'nope')).toEqual([]);
    expect(await client.getMetricHistory('0'.repeat(32), 'loss')).toEqual([]); // 200 {} for a missing run, as recorded
  });
});

describe('MlflowClient: artifacts through the proxy', () => {
  it('uploads, lists and downloads; a missing file is 500 INTERNAL_ERROR, retried once', async () => {
    const exp = await client.ensureExperiment('artifacts');
    const run = await client.createRun({ experimentId: exp.experiment_id, startTime: 1 });
    const root = run.info.artifact_uri!;
    await client.uploadArtifact(root, 'plots/fold 0.png', Buffer.from([137, 80, 78, 71]), 'image/png');
    await client.uploadArtifact(root, 'pipeline.yaml', 'name: x\n', 'application/x-yaml');
    expect(await client.listArtifacts(run.info.run_id)).toEqual([
      { path: 'pipeline.yaml', is_dir: false, file_size: 8 },
      { path: 'plots', is_dir: true },
    ]);
    expect(await client.listArtifacts(run.info.run_id, 'plots')).toEqual([
      { path: 'plots/fold 0.png', is_dir: false, file_size: 4 },
    ]);
    expect(await client.listProxyArtifacts(root, 'plots')).toEqual([
      { path: 'fold 0.png', is_dir: false, file_size: 4 },
    ]);
    expect([...(await client.downloadArtifact(root, 'plots/fold 0.png'))]).toEqual([137, 80, 78, 71]);
    const before = double.requests.length;
    const err = await failure(client.downloadArtifact(root, 'missing.txt'));
    expect([err.status, err.errorCode]).toEqual([500, 'INTERNAL_ERROR']);
    expect(double.requests.length - before).toBe(2);
  });
});

describe('MlflowClient: errors and URIs', () => {
  it('says the server answered an HTML page instead of crashing on it', async () => {
    const err = await failure(client.http.send({ method: 'GET', path: '/api/2.0/mlflow/no/such/endpoint' }));
    expect(err.message).toContain('the server answered an HTML page (status 404)');
    expect(err.hint).toMatch(/root of an MLflow server/);
    const malformed = await failure(
      client.http.send({
        method: 'POST',
        path: '/api/2.0/mlflow/runs/log-batch',
        body: '{not json',
        contentType: 'application/json',
      }),
    );
    expect(malformed.message).toContain('the server answered an HTML page (status 500)');
  });

  it('a 200 HTML page (a login page in front of the server) is an error, not data', async () => {
    double.fault({ kind: 'status', status: 200, html: true });
    const err = await failure(client.getExperiment('0'));
    expect(err.message).toContain('the server answered an HTML page (status 200)');
  });

  it("a proxy's 502 HTML page is retried, then reported as such", async () => {
    double.fault({ kind: 'status', status: 502, times: 10 });
    const before = double.requests.length;
    const err = await failure(client.getExperiment('0'));
    expect(err.message).toContain('the server answered an HTML page (status 502): 502 Bad Gateway');
    expect(double.requests.length - before).toBe(6);
  });

  it('times out a slow answer', async () => {
    const c = new MlflowClient({ uri: double.url, timeoutMs: 50, retry: { retries: 0 } });
    double.fault({ kind: 'slow', delayMs: 400, match: 'experiments/get' });
    const err = await failure(c.getExperiment('0'));
    expect(err.kind).toBe('network');
    expect(err.message).toContain('no answer within 0.1 s');
    await c.destroy();
  });

  it.each(['file:./mlruns', 'file:///tmp/mlruns', './mlruns', '/abs/mlruns', 'sqlite:///mlflow.db', 'databricks'])(
    'refuses %s, pointing to mlflow server',
    (uri) => {
      let err: unknown;
      try {
        new MlflowClient({ uri });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ParamflowError);
      expect((err as ParamflowError).code).toBe('PF_BAD_FLAG');
      expect((err as ParamflowError).isBadInput).toBe(true);
      expect((err as ParamflowError).hint).toContain('mlflow server');
    },
  );

  it('says the file store is deprecated for file: URIs', () => {
    expect(() => new MlflowClient({ uri: 'file:./mlruns' })).toThrow(/file store is deprecated/);
  });
});
