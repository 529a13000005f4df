import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/sweep/record.js';
import { paramflow, quickProject, runRecord } from '../helpers/project.js';
import { hasRedis, startRedis, type RedisServer } from '../helpers/redis.js';

const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
const GRID = ['--sweep', 'train.batch_size=16,32', '--sweep', 'noise.gaussian.relative=0,0.05'];

/** A `paramflow worker` in `dir`; `line(re)` resolves at the first stderr line matching re. */
function startWorker(dir: string, env: Record<string, string>) {
  const proc = paramflow(dir, ['worker'], { env, buffer: false, stdout: 'ignore' });
  let seen = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    seen += chunk;
    for (const w of waiters.splice(0)) (w.re.test(seen) ? w.resolve() : waiters.push(w));
  });
  const line = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(seen)) return resolve();
      waiters.push({ re, resolve });
      void proc.then(() => reject(new Error(`worker exited before ${re}:\n${seen}`)));
    });
  return { proc, line, log: () => seen };
}

function objectives(s: SweepRecord) {
  return Object.fromEntries(s.trials.map((t) => [t.id, t.objective?.mean]));
}

async function records(dir: string, s: SweepRecord) {
  return Promise.all(s.trials.flatMap((t) => t.replicates.map((r) => runRecord(dir, r.runId!))));
}

describe.skipIf(!hasRedis)('queue executor (BullMQ on a real redis-server)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('a 4-trial sweep served by two workers in two folders sharing a remote cache: same objectives as locally, simulate executed once', async () => {
    const local = quickProject();
    const ref = await paramflow(local, ['run', 'pipeline.yaml', '--json', ...SMALL, ...GRID, '--jobs', '2']);
    expect(ref.exitCode, String(ref.stderr)).toBe(0);
    const expected = objectives(JSON.parse(String(ref.stdout)) as SweepRecord);

    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    const env = { PARAMFLOW_REDIS_URL: redis.url, PARAMFLOW_QUEUE: 'four-trials', PARAMFLOW_CACHE_REMOTE: shared };
    const [submitter, a, b] = [quickProject(), quickProject(), quickProject()];
    const wa = startWorker(a, env);
    await wa.line(/serving queue/);
    const run = paramflow(submitter, ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL, ...GRID], { env: { PARAMFLOW_REDIS_URL: redis.url, PARAMFLOW_QUEUE: 'four-trials' } });
    // The second worker joins once the first has pushed the shared stages (the remote is a cache, not a lock).
    await wa.line(/job \S+ finished/);
    const wb = startWorker(b, env);
    await wb.line(/serving queue/);
    const status = await paramflow(submitter, ['queue', 'status', '--json'], { env });
    expect(status.exitCode, String(status.stderr)).toBe(0);
    expect((JSON.parse(String(status.stdout)) as { workers: unknown[] }).workers).toHaveLength(2);

    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const rec = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(rec.status).toBe('FINISHED');
    expect(objectives(rec)).toEqual(expected);
    const runs = await records(submitter, rec);
    expect(runs).toHaveLength(4);
    expect(runs.filter((x) => x.stages.simulate!.status === 'executed')).toHaveLength(1);
    // The submitter computed nothing: its cache is empty, its run store has the workers' records.
    expect(readdirSync(join(submitter, '.paramflow')).includes('cache') ? readdirSync(join(submitter, '.paramflow', 'cache')).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []).toEqual([]);
    const table = await paramflow(submitter, ['runs', '--sweep', rec.sweepId]);
    expect(table.exitCode, String(table.stderr)).toBe(0);

    const after = JSON.parse(String((await paramflow(submitter, ['queue', 'status', '--json'], { env })).stdout)) as { completed: number; waiting: number; active: number; failed: number };
    expect(after).toMatchObject({ completed: 4, waiting: 0, active: 0, failed: 0 });

    wa.proc.kill('SIGTERM');
    wb.proc.kill('SIGTERM');
    expect((await wa.proc).exitCode).toBe(0);
    expect((await wb.proc).exitCode).toBe(0);
  }, 300_000);

  it('a worker SIGKILLed mid-trial: its stalled job goes to the other worker and the sweep completes', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    const env = { PARAMFLOW_REDIS_URL: redis.url, PARAMFLOW_QUEUE: 'killed', PARAMFLOW_CACHE_REMOTE: shared, PARAMFLOW_QUEUE_LOCK_MS: '3000' };
    const [submitter, a, b] = [quickProject(), quickProject(), quickProject()];
    const wa = startWorker(a, env);
    await wa.line(/serving queue/);
    const run = paramflow(submitter, ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL, '--sweep', 'train.batch_size=16,32'], { env });
    await wa.line(/job \S+ \(.*\) started/);
    wa.proc.kill('SIGKILL');
    expect((await wa.proc).signal).toBe('SIGKILL');

    const wb = startWorker(b, env);
    const r = await run;
    expect(r.exitCode, `${String(r.stderr)}\n--- worker b:\n${wb.log()}`).toBe(0);
    const rec = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(rec.trials.map((t) => t.replicates[0]!.status)).toEqual(['FINISHED', 'FINISHED']);
    expect(rec.trials.every((t) => typeof t.objective?.mean === 'number')).toBe(true);
    // Both trials ran on the surviving worker.
    expect(wb.log().match(/job \S+ finished/g), wb.log()).toHaveLength(2);
    wb.proc.kill('SIGTERM');
    expect((await wb.proc).exitCode).toBe(0);
  }, 300_000);

  it('an unreachable Redis is bad input: exit 2, located, nothing recorded', async () => {
    const dir = quickProject();
    const env = { PARAMFLOW_REDIS_URL: 'redis://127.0.0.1:1' };
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--executor', 'queue', ...SMALL, '--sweep', 'train.batch_size=16,32'], { env });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/PARAMFLOW_REDIS_URL/);
    expect(String(r.stderr)).toMatch(/cannot reach Redis/);
    expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);
    const s = await paramflow(dir, ['queue', 'status'], { env });
    expect(s.exitCode).toBe(2);
  }, 60_000);
});
