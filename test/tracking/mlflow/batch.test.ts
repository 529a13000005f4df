import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_LIMITS, splitBatch } from '../../../src/tracking/mlflow/batch.js';
import { MlflowClient } from '../../../src/tracking/mlflow/client.js';
import type { KeyValue, Metric } from '../../../src/tracking/mlflow/types.js';
import { MlflowDouble } from '../../helpers/mlflow-double.js';

const metrics = (n: number, key = 'loss'): Metric[] =>
  Array.from({ length: n }, (_, i) => ({ key, value: i / 7, timestamp: 1_795_621_894_000 + i, step: i }));
const kvs = (n: number, prefix: string, value = 'v'): KeyValue[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value }));

describe('splitBatch', () => {
  it('3000 metrics → 3 batches of 1000, in order', () => {
    const batches = splitBatch({ metrics: metrics(3000) });
    expect(batches.map((b) => b.metrics.length)).toEqual([1000, 1000, 1000]);
    expect(batches.flatMap((b) => b.metrics.map((m) => m.step))).toEqual(metrics(3000).map((m) => m.step));
  });

  it('keeps each kind and the total within the limits', () => {
    const batches = splitBatch({ params: kvs(250, 'p'), tags: kvs(150, 't'), metrics: metrics(2500) });
    for (const b of batches) {
      expect(b.params.length).toBeLessThanOrEqual(100);
      expect(b.tags.length).toBeLessThanOrEqual(100);
      expect(b.metrics.length).toBeLessThanOrEqual(1000);
      expect(b.params.length + b.tags.length + b.metrics.length).toBeLessThanOrEqual(1000);
    }
    expect(batches.flatMap((b) => b.params)).toHaveLength(250);
    expect(batches.flatMap((b) => b.tags)).toHaveLength(150);
    expect(batches.flatMap((b) => b.metrics)).toHaveLength(2500);
  });

  it('keeps every request body under 1 MB', () => {
    const big = kvs(100, 'p', '€'.repeat(6000)); // 18 kB each: 1.8 MB in all
    const batches = splitBatch({ params: big });
    expect(batches.length).toBeGreaterThanOrEqual(2);
    for (const b of batches)
      expect(Buffer.byteLength(JSON.stringify({ run_id: 'r'.repeat(32), ...b }))).toBeLessThan(BATCH_LIMITS.bytes);
  });

  it('gives nothing for nothing', () => {
    expect(splitBatch({})).toEqual([]);
  });
});

describe('batches at the limits, sent to the double', () => {
  let double: MlflowDouble;
  let client: MlflowClient;
  let runId: string;
  beforeAll(async () => {
    double = await MlflowDouble.start();
    client = new MlflowClient({ uri: double.url });
    const exp = await client.ensureExperiment('limits');
    runId = (await client.createRun({ experimentId: exp.experiment_id, startTime: 1 })).info.run_id;
  });
  afterAll(async () => {
    await client.close();
    await double.down();
  });

  it('the double refuses what MLflow refuses: 1001 metrics, 101 params, 101 tags, > 1 MB', async () => {
    for (const body of [
      { metrics: metrics(1001) },
      { params: kvs(101, 'q') },
      { tags: kvs(101, 't') },
      { params: kvs(100, 'r', '€'.repeat(6000)) },
    ]) {
      const err = await client
        .logBatch(runId, body, { retry: false })
        .catch((e: { status?: number; errorCode?: string }) => e);
      expect(err).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    }
  });

  it('a 3000-metric run goes in ≥ 3 batches, none refused', async () => {
    const before = double.calls('runs/log-batch').length;
    for (const b of splitBatch({ metrics: metrics(3000, 'm3000'), params: kvs(150, 'big', '€'.repeat(6000)) }))
      await client.logBatch(runId, b);
    expect(double.calls('runs/log-batch').length - before).toBeGreaterThanOrEqual(3);
    expect(await client.getMetricHistory(runId, 'm3000')).toHaveLength(3000);
    expect((await client.getRun(runId)).data.params?.filter((p) => p.key.startsWith('big'))).toHaveLength(150);
  });

  it('a param value over 6000 characters is stored truncated to 6000, as recorded', async () => {
    await client.logBatch(runId, { params: [{ key: 'long', value: 'v'.repeat(6001) }] });
    const p = (await client.getRun(runId)).data.params?.find((x) => x.key === 'long');
    expect(p?.value).toHaveLength(6000);
  });
});
