import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import { acquireLock } from '../../src/project/lock.js';
import { trialId } from '../../src/sweep/expand.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { paramflow, runRecord, quickProject } from '../helpers/project.js';

// quick.yaml made smaller still: sweeps run many trials.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

async function sweep(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, ...args], { env });
  return { r, dir, record: r.stdout ? (JSON.parse(String(r.stdout)) as SweepRecord) : undefined };
}

const runsOf = (s: SweepRecord) => s.trials.flatMap((t) => t.replicates.map((x) => x.runId!));

describe('sweeps', () => {
  it('a 2×3 grid runs 6 trials, simulates once, and a rerun executes nothing', async () => {
    const dir = quickProject();
    const grid = ['--sweep', 'train.batch_size=16,32', '--sweep', 'noise.gaussian.relative=0,0.02,0.05'];
    const { r, record } = await sweep(dir, [...grid, '--jobs', '2']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(record!.trials).toHaveLength(6);
    expect(
      record!.trials.every((t) => t.replicates[0]!.status === 'FINISHED' && typeof t.objective?.mean === 'number'),
    ).toBe(true);
    const recs = await Promise.all(runsOf(record!).map((id) => runRecord(dir, id)));
    expect(recs.filter((x) => x.stages.simulate!.status === 'executed')).toHaveLength(1);
    expect(recs.filter((x) => x.stages.noise!.status === 'executed')).toHaveLength(3);
    expect(recs.every((x) => x.sweep?.sweep === record!.sweepId)).toBe(true);
    const best = [...record!.trials].sort((a, b) => a.objective!.mean - b.objective!.mean)[0]!;
    expect(record!.best!.trial).toBe(best.id);
    // Each running trial says what it does, named by the values that vary: a stage starting, a fold's epochs.
    for (const t of record!.trials) expect(String(r.stderr)).toContain(`  ${t.id} batch_size=`);
    expect(String(r.stderr)).toMatch(/ t\w+ batch_size=\d+ relative=[\d.]+: train fold 0 epoch 1\/\d+ val_loss /);

    const again = await sweep(dir, [...grid, '--jobs', '2']);
    expect(again.record!.trials.map((t) => t.id)).toEqual(record!.trials.map((t) => t.id));
    const rerun = await Promise.all(runsOf(again.record!).map((id) => runRecord(dir, id)));
    expect(rerun.flatMap((x) => Object.values(x.stages).filter((s) => s.status === 'executed'))).toEqual([]);

    const table = await paramflow(dir, ['runs', '--sweep', record!.sweepId]);
    expect(table.stdout).toMatch(
      /TRIAL\s+train\.batch_size\s+noise\.gaussian\.relative\s+cv_rmse_mean \(minimize\)\s+rmse\.A/,
    );
    expect(String(table.stdout).split('\n')[2]).toContain(best.id);
    // --sort names a metric the trials have, and sorts a sweep's trials only.
    const unknown = await paramflow(dir, ['runs', '--sweep', record!.sweepId, '--sort', 'rmse.Z.mean']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/--sort rmse\.Z\.mean: no trial of sweep-\S+ has this metric/);
    expect(unknown.stderr).toMatch(/hint: sort by one of .*rmse\.A\.mean/);
    const notSweep = await paramflow(dir, ['runs', '--sort', 'cv_rmse_mean']);
    expect(notSweep.exitCode).toBe(2);
    expect(notSweep.stderr).toMatch(/--sort sorts the trials of a sweep/);
  }, 180_000);

  it('--jobs 2 and --jobs 1 give identical results on 8 trials', async () => {
    const grid = ['--sweep', 'train.batch_size=16,32', '--sweep', 'train.optimizer.adam.lr=0.001,0.002,0.005,0.01'];
    const one = await sweep(quickProject(), [...grid, '--jobs', '1']);
    const two = await sweep(quickProject(), [...grid, '--jobs', '2']);
    expect(one.record!.trials).toHaveLength(8);
    const objectives = (s: SweepRecord) => Object.fromEntries(s.trials.map((t) => [t.id, t.objective!.mean]));
    expect(objectives(two.record!)).toEqual(objectives(one.record!));
    // Workers stay up between trials: one process ran all 8 at --jobs 1, at most two at --jobs 2 ...
    const pids = async (s: SweepRecord, dir: string) =>
      new Set((await Promise.all(runsOf(s).map((id) => runRecord(dir, id)))).map((x) => x.pid));
    expect((await pids(one.record!, one.dir)).size).toBe(1);
    expect((await pids(two.record!, two.dir)).size).toBeLessThanOrEqual(2);
    // ... and a warm worker's trial equals the same run in a fresh process, bit for bit.
    const last = one.record!.trials.at(-1)!;
    const alone = await paramflow(one.dir, [
      'run',
      'pipeline.yaml',
      '--json',
      '--no-cache',
      ...SMALL,
      ...Object.entries(last.values).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ]);
    const fresh = await runRecord(one.dir, JSON.parse(String(alone.stdout)).runId);
    const inSweep = await runRecord(one.dir, last.replicates[0]!.runId!);
    expect(fresh.stages.train!.files).toEqual(inSweep.stages.train!.files);
    expect(fresh.metrics).toEqual(inSweep.metrics);
  }, 180_000);

  it('a worker killed mid-trial is retried once, then that trial is FAILED; the others finish; exit 1', async () => {
    const dir = quickProject();
    const victim = trialId({ 'train.batch_size': 32 });
    const { r, record } = await sweep(dir, ['--sweep', 'train.batch_size=16,32,64', '--jobs', '2'], {
      PARAMFLOW_CRASH_AT: 'stage-progress:train@1',
      PARAMFLOW_CRASH_TRIAL: victim,
    });
    expect(r.exitCode).toBe(1);
    const byId = Object.fromEntries(record!.trials.map((t) => [t.id, t.replicates[0]!]));
    expect(byId[victim]).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(byId[victim]!.error).toMatch(/killed by SIGKILL/);
    expect(
      Object.entries(byId)
        .filter(([id]) => id !== victim)
        .every(([, x]) => x.status === 'FINISHED'),
    ).toBe(true);
    const verify = await paramflow(dir, ['cache', 'verify']);
    expect(verify.exitCode, String(verify.stdout)).toBe(0);
    expect(execSync('ps -eo args').toString()).not.toContain(dir);
  });

  it('SIGINT stops the workers: their runs and the sweep are KILLED, exit 130, no cache entry, no process left', async () => {
    const dir = quickProject();
    const status = JSON.parse(
      String((await paramflow(dir, ['status', 'pipeline.yaml', '--json', ...SMALL])).stdout),
    ) as { stages: { stage: string; key: string }[] };
    // Both workers block on simulate's lock, so the interrupt lands while two trials run.
    const held = await acquireLock(new Layout(dir).lock(status.stages.find((s) => s.stage === 'simulate')!.key));
    const proc = paramflow(dir, [
      'run',
      'pipeline.yaml',
      '--json',
      ...SMALL,
      '--sweep',
      'train.batch_size=16,32,64',
      '--jobs',
      '2',
    ]);
    const running = async () =>
      (JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[]).filter(
        (x) => x.status === 'RUNNING',
      ).length;
    for (let i = 0; i < 600 && (await running()) < 2; i++) await new Promise((r) => setImmediate(r));
    expect(await running()).toBe(2);
    proc.kill('SIGINT');
    const r = await proc;
    await held.release();
    expect(r.exitCode).toBe(130);
    const record = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(record.status).toBe('KILLED');
    expect(record.trials.map((t) => t.replicates[0]!.status)).toEqual(['KILLED', 'KILLED', 'KILLED']);
    const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(['KILLED', 'KILLED']);
    expect(JSON.parse(String((await paramflow(dir, ['cache', 'ls', '--json'])).stdout))).toEqual([]);
    expect(execSync('ps -eo args').toString()).not.toContain(dir);
  });

  it('a bad value in the sweep is refused before anything runs, located at its key (exit 2)', async () => {
    const dir = quickProject();
    const text = readFileSync(join(dir, 'pipeline.yaml'), 'utf8') + 'sweep:\n  grid:\n    train.batch_size: [32, 0]\n';
    writeFileSync(join(dir, 'pipeline.yaml'), text);
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(r.exitCode).toBe(2);
    const line = text.split('\n').findIndex((l) => l.includes('train.batch_size: [32, 0]')) + 1;
    expect(r.stderr).toMatch(
      new RegExp(`pipeline\\.yaml:${line}:5: error PF_SCHEMA: stages\\.train\\.with\\.batch_size must be ≥ 1, got 0`),
    );
    expect(JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout))).toEqual([]);
  });
});
