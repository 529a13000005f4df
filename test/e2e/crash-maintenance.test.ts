import { execSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { makeProject, paramflow, quickProject, runJson, runRecord } from '../helpers/project.js';

// Kill points outside a stage: during `cache gc`, during an MLflow spool append, and as a
// sweep's worker starts. Each time: nothing stored is damaged, and what follows completes
// with the results an uninterrupted run gives.
const NOISIER = ['--set', 'noise.gaussian.relative=0.1'];
const tmpDirs = (dir: string) =>
  readdirSync(join(dir, '.paramflow', 'cache', '.tmp'), { withFileTypes: true }).filter((e) => e.isDirectory());

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(async () => {
  await double.down();
});

describe('crash consistency outside stages', () => {
  it('killed during `cache gc`: verify is clean, a second gc finishes, kept runs stay cached, removed ones recompute identically', async () => {
    const dir = makeProject();
    const older = await runRecord(dir, (await runJson(dir, NOISIER)).runId);
    await runJson(dir);
    const gc = await paramflow(dir, ['cache', 'gc', '--keep', '1'], { env: { PARAMFLOW_CRASH_AT: 'cache-remove@1' } });
    expect(gc.signal).toBe('SIGKILL');

    const verify = await paramflow(dir, ['cache', 'verify']);
    expect(verify.exitCode, String(verify.stdout)).toBe(0);
    expect(verify.stdout).toMatch(/, 0 bad/);
    expect(tmpDirs(dir)).toEqual([]);
    const again = await paramflow(dir, ['cache', 'gc', '--keep', '1']);
    expect(again.exitCode, String(again.stderr)).toBe(0);

    expect((await runJson(dir)).executed).toEqual([]);
    const redo = await runJson(dir, NOISIER);
    expect(redo.executed.sort()).toEqual(['folds', 'noise']);
    const rec = await runRecord(dir, redo.runId);
    for (const s of ['simulate', 'noise', 'folds']) expect(rec.stages[s]!.files, s).toEqual(older.stages[s]!.files);
  }, 120_000);

  // The first append is the run's start; the first one after the run's record says FINISHED is
  // found by killing at appends #2, #3, … in turn (how many a run makes depends on its stages).
  it.each([
    { first: 1, status: 'KILLED' },
    { first: 2, status: 'FINISHED' },
  ])(
    'killed mid spool append (a torn last line) while the run is $status: `sync` logs the run as the store has it; a second sync sends nothing',
    async ({ first: from, status }) => {
      const env = { MLFLOW_TRACKING_URI: double.url };
      let dir = '';
      let first: { runId: string; status: string } | undefined;
      for (let n = from; n < from + 20; n++) {
        dir = makeProject();
        const killed = await paramflow(dir, ['run', 'pipeline.yaml'], {
          env: { ...env, PARAMFLOW_CRASH_AT: `spool-append@${n}` },
        });
        expect(killed.signal, `append #${n} was never reached`).toBe('SIGKILL');
        [first] = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
          runId: string;
          status: string;
        }[];
        if (first!.status === status) break;
      }
      expect(first!.status).toBe(status);
      const stored = await runRecord(dir, first!.runId);

      const sync = await paramflow(dir, ['sync'], { env });
      expect(sync.exitCode, String(sync.stdout) + String(sync.stderr)).toBe(0);
      const logged = [...double.store.runs.values()].filter((r) => r.tags.get('paramflow.run_id') === first!.runId);
      expect(logged).toHaveLength(1);
      expect(logged[0]!.status).toBe(status);
      const metrics = new Set(logged[0]!.metrics.map((m) => m.key));
      expect(Object.keys(stored.metrics).filter((k) => !metrics.has(k))).toEqual([]);

      const requests = double.requests.length;
      const twice = await paramflow(dir, ['sync'], { env });
      expect(twice.exitCode).toBe(0);
      expect(double.requests.length).toBe(requests);
    },
    120_000,
  );

  it('workers killed as they start: every trial FAILED (exit 1), no process left; the rerun finishes like an uninterrupted sweep', async () => {
    const args = [
      'run',
      'pipeline.yaml',
      '--json',
      '--set',
      'simulate.n=240',
      '--set',
      'simulate.x.points=40',
      '--set',
      'train.epochs=2',
      '--sweep',
      'train.batch_size=16,32',
      '--jobs',
      '2',
    ];
    const reference = quickProject();
    const ref = JSON.parse(String((await paramflow(reference, args)).stdout)) as SweepRecord;

    const dir = quickProject();
    const crashed = await paramflow(dir, args, { env: { PARAMFLOW_CRASH_AT: 'worker-start' } });
    expect(crashed.exitCode).toBe(1);
    const record = JSON.parse(String(crashed.stdout)) as SweepRecord;
    expect(record.trials.map((t) => [t.replicates[0]!.status, t.replicates[0]!.attempts])).toEqual([
      ['FAILED', 2],
      ['FAILED', 2],
    ]);
    expect(record.trials[0]!.replicates[0]!.error).toMatch(/killed by SIGKILL/);
    expect(execSync('ps -eo args').toString()).not.toContain(dir);
    expect(JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout))).toEqual([]);

    const rerun = await paramflow(dir, args);
    expect(rerun.exitCode, String(rerun.stderr)).toBe(0);
    const objectives = (s: SweepRecord) => Object.fromEntries(s.trials.map((t) => [t.id, t.objective?.mean]));
    expect(objectives(JSON.parse(String(rerun.stdout)) as SweepRecord)).toEqual(objectives(ref));
  }, 180_000);
});
