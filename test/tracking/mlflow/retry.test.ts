import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MlflowClient } from '../../../src/tracking/mlflow/client.js';
import { MlflowError } from '../../../src/tracking/mlflow/errors.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay, withRetry } from '../../../src/tracking/mlflow/retry.js';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import { fakeClock } from '../../helpers/mlflow-kit.js';

const statusError = (status: number, retryAfterMs?: number) =>
  new MlflowError(`HTTP ${status}`, {
    kind: 'status',
    endpoint: 'GET x',
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });

describe('retryDelay', () => {
  it.each([429, 502, 503, 504])('retries %i', (status) => {
    expect(retryDelay(statusError(status), 0, 0, DEFAULT_RETRY, () => 0.5)).toBeGreaterThan(0);
  });

  it.each([400, 401, 403, 404, 405, 409, 422])('never retries %i', (status) => {
    expect(retryDelay(statusError(status), 0, 0, DEFAULT_RETRY, () => 0.5)).toBeUndefined();
  });

  it('retries a 500 once only', () => {
    expect(retryDelay(statusError(500), 0, 0, DEFAULT_RETRY, () => 0.5)).toBeGreaterThan(0);
    expect(retryDelay(statusError(500), 1, 1, DEFAULT_RETRY, () => 0.5)).toBeUndefined();
  });

  it('retries network failures, with exponential backoff and jitter within [b/2, b]', () => {
    const net = new MlflowError('down', { kind: 'unreachable', endpoint: 'GET x' });
    const base = DEFAULT_RETRY.baseDelayMs;
    expect([0, 1, 2, 3].map((n) => retryDelay(net, n, 0, DEFAULT_RETRY, () => 0))).toEqual([
      base / 2,
      base,
      2 * base,
      4 * base,
    ]);
    expect([0, 1, 2, 3].map((n) => retryDelay(net, n, 0, DEFAULT_RETRY, () => 1))).toEqual([
      base,
      2 * base,
      4 * base,
      8 * base,
    ]);
    expect(retryDelay(net, 20, 0, { ...DEFAULT_RETRY, retries: 50 }, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
    expect(retryDelay(net, DEFAULT_RETRY.retries, 0, DEFAULT_RETRY, () => 1)).toBeUndefined();
  });

  it('honours Retry-After, capped', () => {
    expect(retryDelay(statusError(429, 7000), 0, 0, DEFAULT_RETRY, () => 0.5)).toBe(7000);
    expect(retryDelay(statusError(503, 10_000_000), 0, 0, DEFAULT_RETRY, () => 0.5)).toBe(
      DEFAULT_RETRY.maxRetryAfterMs,
    );
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('withRetry', () => {
  it('stops before a wait that would pass the deadline', async () => {
    const clock = fakeClock();
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        throw statusError(503);
      },
      { policy: DEFAULT_RETRY, clock, deadline: clock.now() + 1000 },
    );
    await expect(p).rejects.toThrow('HTTP 503');
    expect(calls).toBe(2); // waits 375 ms (fits), then would wait 750 ms more: past the deadline
  });
});

describe('the retry policy against the double', () => {
  let double: MlflowDouble;
  let clock: ReturnType<typeof fakeClock>;
  let client: MlflowClient;
  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(() => double.down());
  beforeEach(() => {
    double.clearFaults();
    clock = fakeClock();
    client = new MlflowClient({ uri: double.url, clock });
  });

  const attempts = async (fn: () => Promise<unknown>) => {
    const before = double.requests.length;
    const err = await fn().then(
      () => undefined,
      (e: unknown) => e as MlflowError,
    );
    return { n: double.requests.length - before, err };
  };

  it.each([429, 502, 503, 504])('%i twice, then success: 3 attempts', async (status) => {
    double.fault({ kind: 'status', status, times: 2 });
    const r = await attempts(() => client.getExperiment('0'));
    expect(r).toEqual({ n: 3, err: undefined });
    expect(clock.sleeps).toHaveLength(2);
  });

  it('429 with Retry-After: waits what the server asked', async () => {
    double.fault({ kind: 'status', status: 429, retryAfter: '7' });
    const r = await attempts(() => client.getExperiment('0'));
    expect(r.n).toBe(2);
    expect(clock.sleeps).toEqual([7000]);
  });

  it('a 500 is retried once, then reported', async () => {
    double.fault({ kind: 'status', status: 500, times: 5 });
    const r = await attempts(() => client.getExperiment('0'));
    expect(r.n).toBe(2);
    expect(r.err?.status).toBe(500);
  });

  it.each([
    ['400 INVALID_PARAMETER_VALUE', () => client.createExperiment('')],
    ['404 RESOURCE_DOES_NOT_EXIST', () => client.getRun('0'.repeat(32))],
    ['405 wrong method', () => client.http.send({ method: 'GET', path: '/api/2.0/mlflow/runs/log-batch' })],
  ])('%s is never retried', async (_name, call) => {
    const r = await attempts(call);
    expect(r.n).toBe(1);
    expect(r.err?.permanent).toBe(true);
  });

  it('503 for ever: 1 + retries attempts, with growing waits', async () => {
    double.fault({ kind: 'status', status: 503, times: 100 });
    const r = await attempts(() => client.getExperiment('0'));
    expect(r.n).toBe(1 + DEFAULT_RETRY.retries);
    expect(clock.sleeps).toEqual([375, 750, 1500, 3000, 6000]);
  });

  it('connection refused: retried, then an "unreachable" error naming the server and how to start one', async () => {
    const gone = await MlflowDouble.start();
    const url = gone.url;
    await gone.down();
    const c = new MlflowClient({ uri: url, clock });
    const err = (await c.getExperiment('0').catch((e: unknown) => e)) as MlflowError;
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain(`cannot reach ${url}`);
    expect(err.hint).toContain('mlflow server');
    expect(clock.sleeps).toHaveLength(DEFAULT_RETRY.retries);
  });

  it('retry: false makes one attempt', async () => {
    double.fault({ kind: 'status', status: 503, times: 3 });
    const r = await attempts(() => client.getExperiment('0', { retry: false }));
    expect(r.n).toBe(1);
  });
});
