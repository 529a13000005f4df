import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trialId } from '../../src/sweep/expand.js';
import type { SweepRecord } from '../../src/sweep/record.js';
import { paramflow, quickProject, REPO, runRecord } from '../helpers/project.js';

// With PARAMFLOW_TEST_SLURM=1 these run against the real cluster this machine submits to
// (a single-node Slurm will do; the project folder must be on a disk its node sees).
// Otherwise a one-node stand-in (test/helpers/fake-slurm: sbatch runs each array task as a
// local process; squeue/sacct report them in Slurm's formats) stands in for the cluster,
// so the sbatch script, the task runner and the polling are exercised end to end.
const REAL = process.env.PARAMFLOW_TEST_SLURM === '1';
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

function slurmEnv(): Record<string, string> {
  if (REAL) return {};
  return { PATH: `${join(REPO, 'test', 'helpers', 'fake-slurm')}:${process.env.PATH}`, FAKE_SLURM_DIR: mkdtempSync(join(tmpdir(), 'pf-fake-slurm-')) };
}

/** quick.yaml with `executor.slurm:` settings (polled every second: a test waits for it). */
function slurmProject(): string {
  const dir = quickProject();
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^name: .*$/m, (l) => `${l}\nexecutor:\n  slurm: { cpus: 1, mem: 1G, time: "00:20:00", poll_seconds: 1 }`));
  return dir;
}

async function sweep(dir: string, args: string[], env: Record<string, string>) {
  const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, ...args], { env });
  return { r, record: r.stdout ? (JSON.parse(String(r.stdout)) as SweepRecord) : undefined };
}

const objectives = (s: SweepRecord) => Object.fromEntries(s.trials.map((t) => [t.id, t.objective?.mean]));

describe(`--executor slurm (${REAL ? 'real cluster' : 'one-node stand-in'})`, () => {
  it('a 3-trial sweep is one job array; results equal the local sweep; recorded and listed on the submitting machine', async () => {
    const grid = ['--sweep', 'train.batch_size=16,32,64'];
    const dir = slurmProject();
    const { r, record } = await sweep(dir, [...grid, '--executor', 'slurm'], slurmEnv());
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toMatch(/slurm: submitted job array \d+ \(3 tasks/);
    expect(String(r.stderr)).toMatch(/slurm \d+: 3 RUNNING/); // the first poll follows sbatch at once
    const local = await sweep(quickProject(), grid, {});
    expect(objectives(record!)).toEqual(objectives(local.record!));

    // One array, its script and a log per task under .paramflow/slurm/.
    const batches = readdirSync(join(dir, '.paramflow', 'slurm'));
    expect(batches).toHaveLength(1);
    const script = readFileSync(join(dir, '.paramflow', 'slurm', batches[0]!, 'job.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=0-2\n');
    expect(script).toContain('#SBATCH --mem=1G\n');
    expect(readdirSync(join(dir, '.paramflow', 'slurm', batches[0]!, 'logs'))).toHaveLength(3);

    const recs = await Promise.all(record!.trials.map((t) => runRecord(dir, t.replicates[0]!.runId!)));
    expect(recs.every((x) => x.status === 'FINISHED' && x.sweep?.sweep === record!.sweepId)).toBe(true);
    expect(recs.filter((x) => x.stages.simulate!.status === 'executed')).toHaveLength(1);
    const table = await paramflow(dir, ['runs', '--sweep', record!.sweepId]);
    expect(table.exitCode).toBe(0);
    expect(String(table.stdout)).toContain(record!.best!.trial);
  }, 240_000);

  it.skipIf(REAL)('a task that dies is reported like a failed trial (retried once as a new array), the others finish; exit 1', async () => {
    const dir = slurmProject();
    const victim = trialId({ 'train.batch_size': 32 });
    const env = { ...slurmEnv(), PARAMFLOW_CRASH_AT: 'stage-progress:train@1', PARAMFLOW_CRASH_TRIAL: victim };
    const { r, record } = await sweep(dir, ['--sweep', 'train.batch_size=16,32', '--executor', 'slurm'], env);
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const byId = Object.fromEntries(record!.trials.map((t) => [t.id, t.replicates[0]!]));
    expect(byId[victim]).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(byId[victim]!.error).toMatch(/^slurm task \d+_\d+ FAILED \(exit code 0, signal 9\); log: /);
    expect(Object.entries(byId).filter(([id]) => id !== victim).every(([, x]) => x.status === 'FINISHED')).toBe(true);
    expect(readdirSync(join(dir, '.paramflow', 'slurm'))).toHaveLength(2); // the sweep's array, then the retry's
  }, 240_000);

  it.skipIf(REAL)('Ctrl-C scancels the array: the sweep is KILLED (exit 130) and every task is scancelled', async () => {
    const dir = slurmProject();
    const env = slurmEnv();
    const child = paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, '--set', 'train.epochs=200', '--sweep', 'train.batch_size=16,32', '--executor', 'slurm'], { env });
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (/submitted job array/.test(seen)) resolve();
      });
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, seen + String(r.stderr)).toBe(130);
    const record = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(record.status).toBe('KILLED');
    expect(record.trials.flatMap((t) => t.replicates.map((x) => x.status))).toEqual(['KILLED', 'KILLED']);
    // scancel reached every task the stand-in had started (it marks them before signalling them).
    const state = readdirSync(env.FAKE_SLURM_DIR!);
    const tasks = state.filter((f) => f.endsWith('.task')).map((f) => f.slice(0, -'.task'.length));
    expect(tasks).toHaveLength(2);
    for (const t of tasks) expect(state.includes(`${t}.cancelled`) || state.includes(`${t}.rc`)).toBe(true);
  }, 240_000);

  it('without sbatch, --executor slurm is bad input (exit 2) and nothing is recorded', async () => {
    const dir = slurmProject();
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--sweep', 'train.batch_size=16,32', '--executor', 'slurm'], { env: { PATH: '/nonexistent' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('sbatch does not run here');
    expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);
  });

  it('executor.slurm settings are validated like the rest of the file, located', async () => {
    const dir = quickProject();
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^name: .*$/m, (l) => `${l}\nexecutor:\n  slurm:\n    mem: lots`));
    const r = await paramflow(dir, ['validate', 'pipeline.yaml']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+/);
    expect(r.stderr).toContain('mem');
  });
});
