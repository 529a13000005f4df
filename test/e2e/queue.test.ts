import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { paramflow, quickProject, runJson, runRecord, SMALL_PIPELINE } from '../helpers/project.js';
import { hasRedis, useRedis } from '../helpers/redis.js';
import { startS3 } from '../helpers/s3.js';
import { startWorker } from '../helpers/queue-worker.js';

const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
/** A pipeline whose second stage fails (its command exits 3). */
const FAILING = `${SMALL_PIPELINE}  boom:
    uses: command
    needs: [simulate]
    with:
      run: [node, -e, "process.exit(3)"]
      outputs: [never.json]
`;
const GRID6 = ['--sweep', 'train.batch_size=16,32,64', '--sweep', 'noise.gaussian.relative=0,0.05'];

function objectives(s: SweepRecord) {
  return Object.fromEntries(s.trials.map((t) => [t.id, t.objective?.mean]));
}

async function records(dir: string, s: SweepRecord) {
  return Promise.all(s.trials.flatMap((t) => t.replicates.map((r) => runRecord(dir, r.runId!))));
}

describe.skipIf(!hasRedis)('queue executor (BullMQ on a real redis-server)', () => {
  const redis = useRedis();

  // The acceptance: two workers in two folders (as two machines), both serving
  // before the sweep is submitted, so they contend for the shared upstream stages.
  let expected: Record<string, number | undefined>;
  beforeAll(async () => {
    const ref = await paramflow(quickProject(), ['run', 'pipeline.yaml', '--json', ...SMALL, ...GRID6, '--jobs', '2']);
    expect(ref.exitCode, String(ref.stderr)).toBe(0);
    expected = objectives(JSON.parse(String(ref.stdout)) as SweepRecord);
  }, 300_000);

  async function twoWorkerSweep(queue: string, remoteEnv: Record<string, string>) {
    const env = { PARAMFLOW_REDIS_URL: redis.url(), PARAMFLOW_QUEUE: queue, ...remoteEnv };
    const [submitter, a, b] = [quickProject(), quickProject(), quickProject()];
    const [wa, wb] = [startWorker(a, env), startWorker(b, env)];
    await Promise.all([wa.line(/serving queue/), wb.line(/serving queue/)]);
    const status = await paramflow(submitter, ['queue', 'status', '--json'], { env });
    expect(status.exitCode, String(status.stderr)).toBe(0);
    expect((JSON.parse(String(status.stdout)) as { workers: unknown[] }).workers).toHaveLength(2);

    const r = await paramflow(
      submitter,
      ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL, ...GRID6],
      { env: { PARAMFLOW_REDIS_URL: redis.url(), PARAMFLOW_QUEUE: queue } },
    );
    const logs = () => `${String(r.stderr)}\n--- worker a:\n${wa.log()}\n--- worker b:\n${wb.log()}`;
    expect(r.exitCode, logs()).toBe(0);
    const rec = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(rec.status).toBe('FINISHED');
    expect(objectives(rec)).toEqual(expected);
    const runs = await records(submitter, rec);
    expect(runs).toHaveLength(6);
    // Each shared stage computed once across both machines, whichever took which trial.
    const executed = (stage: string) => runs.filter((x) => x.stages[stage]!.status === 'executed').length;
    expect(executed('simulate'), logs()).toBe(1);
    expect(executed('noise'), logs()).toBe(2);
    expect(executed('folds'), logs()).toBe(2);
    expect(executed('train')).toBe(6);
    // Both machines served trials.
    expect(new Set(runs.map((x) => x.host + x.pid)).size).toBe(2);
    // The submitter computed nothing: its cache is empty, its run store has the workers' records.
    expect(
      existsSync(join(submitter, '.paramflow', 'cache'))
        ? readdirSync(join(submitter, '.paramflow', 'cache')).filter((n) => /^[0-9a-f]{64}$/.test(n))
        : [],
    ).toEqual([]);
    const table = await paramflow(submitter, ['runs', '--sweep', rec.sweepId]);
    expect(table.exitCode, String(table.stderr)).toBe(0);

    const after = JSON.parse(String((await paramflow(submitter, ['queue', 'status', '--json'], { env })).stdout)) as {
      completed: number;
      waiting: number;
      active: number;
      failed: number;
    };
    expect(after).toMatchObject({ completed: 6, waiting: 0, active: 0, failed: 0 });
    wa.proc.kill('SIGTERM');
    wb.proc.kill('SIGTERM');
    expect((await wa.proc).exitCode).toBe(0);
    expect((await wb.proc).exitCode).toBe(0);
    return rec;
  }

  it('a 6-trial sweep served by two workers started together in two folders sharing a remote folder: same objectives as locally, each shared stage executed once; a third, empty folder then executes nothing', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    await twoWorkerSweep('six-trials', { PARAMFLOW_CACHE_REMOTE: shared });
    const third = quickProject();
    const again = await paramflow(third, ['run', 'pipeline.yaml', '--json', ...SMALL, ...GRID6, '--jobs', '2'], {
      env: { PARAMFLOW_CACHE_REMOTE: shared },
    });
    expect(again.exitCode, String(again.stderr)).toBe(0);
    const rec = JSON.parse(String(again.stdout)) as SweepRecord;
    expect(objectives(rec)).toEqual(expected);
    const runs = await records(third, rec);
    expect(
      runs.flatMap((x) =>
        Object.entries(x.stages)
          .filter(([, st]) => st.status !== 'cached')
          .map(([n]) => n),
      ),
    ).toEqual([]);
  }, 300_000);

  it('the same with the remote cache in an S3 bucket (s3rver)', async () => {
    const s3 = await startS3();
    try {
      await twoWorkerSweep('six-trials-s3', { PARAMFLOW_CACHE_REMOTE: 's3://pf-cache/queue', ...s3.env });
    } finally {
      await s3.close();
    }
  }, 300_000);

  it('a worker without a remote cache warns, at start, that stages are not shared', async () => {
    const w = startWorker(quickProject(), { PARAMFLOW_REDIS_URL: redis.url(), PARAMFLOW_QUEUE: 'no-remote' });
    await w.line(/serving queue/);
    expect(w.log()).toMatch(/warning: no remote cache \(PARAMFLOW_CACHE_REMOTE is not set\)[^\n]*not shared/);
    w.proc.kill('SIGTERM');
    expect((await w.proc).exitCode).toBe(0);
  }, 60_000);

  it('a worker SIGKILLed mid-trial: its stalled job goes to the other worker and the sweep completes', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    const env = {
      PARAMFLOW_REDIS_URL: redis.url(),
      PARAMFLOW_QUEUE: 'killed',
      PARAMFLOW_CACHE_REMOTE: shared,
      PARAMFLOW_QUEUE_LOCK_MS: '3000',
    };
    const [submitter, a, b] = [quickProject(), quickProject(), quickProject()];
    const wa = startWorker(a, env);
    await wa.line(/serving queue/);
    const run = paramflow(
      submitter,
      ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL, '--sweep', 'train.batch_size=16,32'],
      { env },
    );
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

  it('a pipeline without a sweep runs as one job on a worker in another folder: same metrics as here, recorded and listed by the submitter (no sweep tag); a pipeline file that differs there and is bad input gives exit 2 here', async () => {
    const env = { PARAMFLOW_REDIS_URL: redis.url(), PARAMFLOW_QUEUE: 'plain' };
    const [here, submitter, a] = [quickProject(), quickProject(), quickProject()];
    const local = await runJson(here, SMALL);
    const w = startWorker(a, env);
    await w.line(/serving queue/);

    const r = await paramflow(submitter, ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL], { env });
    const logs = () => `${String(r.stderr)}\n--- worker:\n${w.log()}`;
    expect(r.exitCode, logs()).toBe(0);
    const out = JSON.parse(String(r.stdout)) as typeof local;
    // The same JSON as a local run: keys, hash, stages.
    expect(Object.keys(out)).toEqual(Object.keys(local));
    expect(out).toMatchObject({ runHash: local.runHash, status: 'FINISHED', executed: local.executed, cached: [] });
    const stderr = String(r.stderr);
    expect(stderr).toMatch(/queue plain: job \S+ = run of pipeline\.yaml, waiting for a worker/);
    expect(stderr).toMatch(/job \S+ \(run of pipeline\.yaml\) started on worker \S+:\d+/);
    expect(stderr).toMatch(/^✓ train: done in /m); // the worker's own lines, forwarded
    expect(stderr).toMatch(/job \S+ \(run of pipeline\.yaml\) finished on worker /);
    expect(stderr).toContain(`✓ run ${out.runId} finished: 5 stages executed, 0 cached`);
    expect(w.log()).toMatch(/job (\S+) \(run\/pipeline\.yaml\) started[^]*job \1 finished/);

    const [rec, ref] = [await runRecord(submitter, out.runId), await runRecord(here, local.runId)];
    expect(rec.metrics).toEqual(ref.metrics);
    expect(rec.sweep).toBeUndefined();
    expect(rec.pid).toBe(w.proc.pid); // run by the worker, in its own process
    expect(
      existsSync(join(submitter, '.paramflow', 'cache'))
        ? readdirSync(join(submitter, '.paramflow', 'cache')).filter((n) => /^[0-9a-f]{64}$/.test(n))
        : [],
    ).toEqual([]);
    const listed = await paramflow(submitter, ['runs', '--json']);
    expect(listed.exitCode, String(listed.stderr)).toBe(0);
    expect(
      (JSON.parse(String(listed.stdout)) as { runId: string; status: string }[]).map((x) => [x.runId, x.status]),
    ).toEqual([[out.runId, 'FINISHED']]);

    // A run that fails on the worker fails here: exit 1, its error, where its stage log is.
    for (const d of [submitter, a]) writeFileSync(join(d, 'fail.yaml'), FAILING);
    const failed = await paramflow(submitter, ['run', 'fail.yaml', '--json', '--executor', 'queue'], { env });
    expect(failed.exitCode, String(failed.stderr)).toBe(1);
    const f = JSON.parse(String(failed.stdout)) as typeof local;
    expect(f.status).toBe('FAILED');
    expect(String(failed.stderr)).toMatch(
      new RegExp(`✗ run ${f.runId} failed: ${f.executed.length} stages? executed, 0 cached`),
    );
    expect(String(failed.stderr)).toMatch(
      new RegExp(
        `error PF_STAGE_FAILED: .*\\n  hint: the stage log is in \\.paramflow/runs/${f.runId}/logs/boom\\.log on \\S+`,
      ),
    );
    expect((await runRecord(submitter, f.runId)).status).toBe('FAILED');

    // The worker's checkout differs: its batch size is no number. Found there, exit 2 here, nothing recorded here.
    const file = join(a, 'pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/batch_size: \d+/, 'batch_size: many'));
    const bad = await paramflow(submitter, ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL], {
      env,
    });
    expect(bad.exitCode, String(bad.stderr)).toBe(2);
    expect(String(bad.stderr)).toMatch(/pipeline\.yaml:\d+:\d+: error PF_SCHEMA: stages\.train\.with\.batch_size/);
    expect(String(bad.stdout)).toBe('');
    expect(readdirSync(join(submitter, '.paramflow', 'runs')).sort()).toEqual([out.runId, f.runId].sort());
    w.proc.kill('SIGTERM');
    expect((await w.proc).exitCode).toBe(0);
  }, 300_000);

  it('an unreachable Redis is bad input: exit 2, located, nothing recorded', async () => {
    const dir = quickProject();
    const env = { PARAMFLOW_REDIS_URL: 'redis://127.0.0.1:1' };
    const r = await paramflow(
      dir,
      ['run', 'pipeline.yaml', '--executor', 'queue', ...SMALL, '--sweep', 'train.batch_size=16,32'],
      { env },
    );
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/PARAMFLOW_REDIS_URL/);
    expect(String(r.stderr)).toMatch(/cannot reach Redis/);
    expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);
    const s = await paramflow(dir, ['queue', 'status'], { env });
    expect(s.exitCode).toBe(2);
  }, 60_000);
});
