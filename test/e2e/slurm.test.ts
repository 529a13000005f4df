import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trialId } from '../../src/sweep/expand.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { paramflow, quickProject, REPO, runJson, runRecord } from '../helpers/project.js';

// With PARAMFLOW_TEST_SLURM=1 these run against the real cluster this machine submits to
// (a single-node Slurm will do, e.g. test/helpers/slurm/setup-single-node.sh; the project
// folder must be on a disk its node sees; sacct must answer).
// Otherwise a one-node stand-in (test/helpers/fake-slurm: sbatch runs each array task as a
// local process; squeue/sacct report them in Slurm's formats) stands in for the cluster,
// so the sbatch script, the task runner and the polling are exercised end to end.
const REAL = process.env.PARAMFLOW_TEST_SLURM === '1';
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

function slurmEnv(): Record<string, string> {
  if (REAL) return {};
  return {
    PATH: `${join(REPO, 'test', 'helpers', 'fake-slurm')}:${process.env.PATH}`,
    FAKE_SLURM_DIR: mkdtempSync(join(tmpdir(), 'pf-fake-slurm-')),
  };
}

/** quick.yaml with `executor.slurm:` settings (polled every second: a test waits for it). */
function slurmProject(extra = ''): string {
  const dir = quickProject();
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(
      /^name: .*$/m,
      (l) => `${l}\nexecutor:\n  slurm: { cpus: 1, mem: 1G, time: "00:20:00", poll_seconds: 1${extra} }`,
    ),
  );
  return dir;
}

/** The `slurm <job>: 2 RUNNING, 1 PENDING (Resources)` lines, as [job, {label: count}]. */
function progressLines(stderr: string): Array<[string, Record<string, number>]> {
  return [...stderr.matchAll(/^slurm (\d+): (.+)$/gm)].map((m) => [
    m[1]!,
    Object.fromEntries(m[2]!.split(', ').map((c) => [c.replace(/^\d+ /, ''), Number(c.split(' ')[0])])),
  ]);
}

/** Every task of a job array as slurmctld has it now (`squeue -t all`: ended ones too). */
async function taskStates(jobId: string, env: Record<string, string>): Promise<string[]> {
  const r = await execa('squeue', ['-h', '-r', '-t', 'all', '-j', jobId, '-o', '%i|%T'], { env });
  return String(r.stdout).split('\n').filter(Boolean).sort();
}

/** Runs a sweep, calling `onLine` with each stderr line as it comes. */
function watched(dir: string, args: string[], env: Record<string, string>, onLine: (line: string) => void) {
  const child = paramflow(dir, ['run', 'pipeline.yaml', '--json', ...args], { env });
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) onLine(l);
  });
  return child;
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
    // The first poll follows sbatch at once: every task is accounted for (the stand-in runs
    // them all at once; a real cluster may hold some PENDING for resources).
    const first = progressLines(String(r.stderr))[0]!;
    expect(Object.values(first[1]).reduce((a, b) => a + b, 0)).toBe(3);
    if (!REAL) expect(first[1]).toEqual({ RUNNING: 3 });
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

  it('a pipeline without a sweep is an array of one task: same metrics as a local run, recorded without a sweep tag and listed; bad input found by the task is exit 2 here', async () => {
    const dir = slurmProject();
    const env = slurmEnv();
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--executor', 'slurm', ...SMALL], { env });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = JSON.parse(String(r.stdout)) as {
      runId: string;
      runHash: string;
      status: string;
      executed: string[];
      cached: string[];
    };
    const here = quickProject();
    const local = await runJson(here, SMALL);
    expect(Object.keys(out)).toEqual(Object.keys(local));
    expect(out).toMatchObject({ runHash: local.runHash, status: 'FINISHED', executed: local.executed, cached: [] });
    expect(String(r.stderr)).toMatch(/slurm: submitted job array \d+ \(1 task;/);
    expect(String(r.stderr)).toContain(`✓ run ${out.runId} finished: 5 stages executed, 0 cached`);
    const batches = readdirSync(join(dir, '.paramflow', 'slurm'));
    expect(readFileSync(join(dir, '.paramflow', 'slurm', batches[0]!, 'job.sbatch'), 'utf8')).toContain(
      '#SBATCH --array=0-0\n',
    );

    const rec = await runRecord(dir, out.runId);
    expect(rec.metrics).toEqual((await runRecord(here, local.runId)).metrics);
    expect(rec.sweep).toBeUndefined();
    const listed = await paramflow(dir, ['runs', '--json']);
    expect((JSON.parse(String(listed.stdout)) as { runId: string }[]).map((x) => x.runId)).toEqual([out.runId]);

    // A run that fails in its task fails here: exit 1, its error; its stage log is in this folder (the shared disk).
    writeFileSync(
      join(dir, 'fail.yaml'),
      readFileSync(join(dir, 'pipeline.yaml'), 'utf8').replace(
        /^stages:\n/m,
        'stages:\n  boom:\n    uses: command\n    with: { run: [node, -e, "process.exit(3)"], outputs: [never.json] }\n',
      ),
    );
    const failed = await paramflow(dir, ['run', 'fail.yaml', '--json', '--executor', 'slurm', ...SMALL], { env });
    expect(failed.exitCode, String(failed.stderr)).toBe(1);
    const f = JSON.parse(String(failed.stdout)) as typeof out;
    expect(f.status).toBe('FAILED');
    expect(String(failed.stderr)).toMatch(new RegExp(`✗ run ${f.runId} failed: `));
    expect(String(failed.stderr)).toMatch(
      new RegExp(
        `error PF_STAGE_FAILED: .*\\n  hint: the stage log is in \\.paramflow/runs/${f.runId}/logs/boom\\.log$`,
        'm',
      ),
    );
    expect(existsSync(join(dir, '.paramflow', 'runs', f.runId, 'logs', 'boom.log'))).toBe(true);

    // An unknown backend is found where the run loads its backend: in the task.
    const bad = await paramflow(
      dir,
      ['run', 'pipeline.yaml', '--json', '--executor', 'slurm', '--backend', 'bogus', ...SMALL],
      { env },
    );
    expect(bad.exitCode, String(bad.stderr)).toBe(2);
    expect(String(bad.stderr)).toMatch(/error PF_BAD_FLAG: unknown backend `bogus`/);
    expect(String(bad.stdout)).toBe('');
    expect(readdirSync(join(dir, '.paramflow', 'runs')).sort()).toEqual([out.runId, f.runId].sort());
  }, 240_000);

  it('a task that dies is reported like a failed trial (retried once as a new array), the others finish; exit 1', async () => {
    const dir = slurmProject();
    const victim = trialId({ 'train.batch_size': 32 });
    const env = { ...slurmEnv(), PARAMFLOW_CRASH_AT: 'stage-progress:train@1', PARAMFLOW_CRASH_TRIAL: victim };
    const { r, record } = await sweep(dir, ['--sweep', 'train.batch_size=16,32', '--executor', 'slurm'], env);
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const byId = Object.fromEntries(record!.trials.map((t) => [t.id, t.replicates[0]!]));
    expect(byId[victim]).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(byId[victim]!.error).toMatch(/^slurm task \d+_\d+ FAILED \(exit code 0, signal 9\); log: /);
    expect(
      Object.entries(byId)
        .filter(([id]) => id !== victim)
        .every(([, x]) => x.status === 'FINISHED'),
    ).toBe(true);
    expect(readdirSync(join(dir, '.paramflow', 'slurm'))).toHaveLength(2); // the sweep's array, then the retry's
  }, 240_000);

  it('Ctrl-C scancels the array: the sweep is KILLED (exit 130) and every task is scancelled', async () => {
    const dir = slurmProject();
    const env = slurmEnv();
    let jobId = '';
    const child = watched(
      dir,
      [...SMALL, '--set', 'train.epochs=200', '--sweep', 'train.batch_size=16,32', '--executor', 'slurm'],
      env,
      (line) => {
        const m = /submitted job array (\d+)/.exec(line);
        if (m && !jobId) {
          jobId = m[1]!;
          child.kill('SIGINT');
        }
      },
    );
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    const record = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(record.status).toBe('KILLED');
    expect(record.trials.flatMap((t) => t.replicates.map((x) => x.status))).toEqual(['KILLED', 'KILLED']);
    if (REAL) {
      // slurmctld has both tasks CANCELLED (a running one passes through COMPLETING first).
      await expect
        .poll(() => taskStates(jobId, env), { timeout: 60_000, interval: 250 })
        .toEqual([`${jobId}_0|CANCELLED`, `${jobId}_1|CANCELLED`]);
      return;
    }
    // scancel reached every task the stand-in had started (it marks them before signalling them).
    const state = readdirSync(env.FAKE_SLURM_DIR!);
    const tasks = state.filter((f) => f.endsWith('.task')).map((f) => f.slice(0, -'.task'.length));
    expect(tasks).toHaveLength(2);
    for (const t of tasks) expect(state.includes(`${t}.cancelled`) || state.includes(`${t}.rc`)).toBe(true);
  }, 240_000);

  it('a task scancelled by someone else is reported CANCELLED like a failed trial (retried, then FAILED); exit 1', async () => {
    const dir = slurmProject();
    const env = slurmEnv();
    const victim = trialId({ 'train.epochs': 5000 });
    const cancelled: string[] = [];
    const targets = new Map<string, string>();
    const args = [
      '--set',
      'simulate.n=240',
      '--set',
      'simulate.x.points=40',
      '--set',
      'train.early_stopping.patience=5000',
      '--sweep',
      'train.epochs=2,5000',
      '--executor',
      'slurm',
    ];
    const child = watched(dir, args, env, (line) => {
      const m = /submitted job array (\d+) \((\d+) tasks?; scripts and logs in (.+)\)$/.exec(line);
      if (m) {
        // The victim's task in this array (its trial in tasks.json), or the array of its retry.
        const tasks = JSON.parse(readFileSync(join(m[3]!, 'tasks.json'), 'utf8')) as Array<{ tag: { trial: string } }>;
        targets.set(m[1]!, tasks.length === 1 ? m[1]! : `${m[1]}_${tasks.findIndex((t) => t.tag.trial === victim)}`);
      }
      // Once the array runs (so the victim's trial is under way when the cluster has room).
      const p = /^slurm (\d+): .*RUNNING/.exec(line);
      const target = p && targets.get(p[1]!);
      if (target && !cancelled.includes(target)) {
        cancelled.push(target);
        void execa('scancel', [target], { env });
      }
    });
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(cancelled).toHaveLength(2); // the sweep's array (one task of it), then the retry's
    const record = JSON.parse(String(r.stdout)) as SweepRecord;
    const byId = Object.fromEntries(record.trials.map((t) => [t.id, t.replicates[0]!]));
    expect(byId[victim]).toMatchObject({ status: 'FAILED', attempts: 2 });
    // Slurm's end first; then the trial's own message when it had time to leave one.
    expect(byId[victim]!.error).toMatch(/^slurm task \d+_0 CANCELLED\b.*; log: .*\.log$/s);
    expect(
      Object.entries(byId)
        .filter(([id]) => id !== victim)
        .every(([, x]) => x.status === 'FINISHED'),
    ).toBe(true);
  }, 240_000);

  it.runIf(REAL)(
    'max_parallel throttles the array: one task runs at a time, the others wait (JobArrayTaskLimit)',
    async () => {
      const dir = slurmProject(', max_parallel: 1');
      const { r, record } = await sweep(
        dir,
        ['--sweep', 'train.batch_size=16,32,64', '--executor', 'slurm'],
        slurmEnv(),
      );
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(record!.trials.every((t) => t.replicates[0]!.status === 'FINISHED')).toBe(true);
      const batch = readdirSync(join(dir, '.paramflow', 'slurm'))[0]!;
      expect(readFileSync(join(dir, '.paramflow', 'slurm', batch, 'job.sbatch'), 'utf8')).toContain(
        '#SBATCH --array=0-2%1\n',
      );
      const lines = progressLines(String(r.stderr)).map(([, counts]) => counts);
      expect(
        lines.some((c) => (c['PENDING (JobArrayTaskLimit)'] ?? 0) > 0),
        String(r.stderr),
      ).toBe(true);
      expect(
        lines.every((c) => (c.RUNNING ?? 0) <= 1),
        String(r.stderr),
      ).toBe(true);
    },
    240_000,
  );

  it('without sbatch, --executor slurm is bad input (exit 2) and nothing is recorded', async () => {
    const dir = slurmProject();
    const r = await paramflow(
      dir,
      ['run', 'pipeline.yaml', '--sweep', 'train.batch_size=16,32', '--executor', 'slurm'],
      { env: { PATH: '/nonexistent' } },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('sbatch does not run here');
    expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);
  });

  it('executor.slurm settings are validated like the rest of the file, located', async () => {
    const dir = quickProject();
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/^name: .*$/m, (l) => `${l}\nexecutor:\n  slurm:\n    mem: lots`),
    );
    const r = await paramflow(dir, ['validate', 'pipeline.yaml']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+/);
    expect(r.stderr).toContain('mem');
  });

  it('a TPE search runs its proposals as tasks, the same trials as locally with --jobs 1; pruning is refused (exit 2, nothing written)', async () => {
    const search = `sweep:\n  tpe: { startup: 2 }\n  budget: { trials: 3 }\n  grid:\n    train.batch_size: [16, 32, 64, 128]\n`;
    const withSearch = (dir: string, more = '') => {
      const file = join(dir, 'pipeline.yaml');
      writeFileSync(file, `${readFileSync(file, 'utf8')}${search}${more}`);
      return dir;
    };
    const local = await sweep(withSearch(quickProject()), ['--jobs', '1'], {});
    expect(local.r.exitCode, String(local.r.stderr)).toBe(0);
    const remote = await sweep(withSearch(slurmProject()), ['--executor', 'slurm', '--jobs', '1'], slurmEnv());
    expect(remote.r.exitCode, String(remote.r.stderr)).toBe(0);
    expect(remote.record!.trials.map((t) => t.id)).toEqual(local.record!.trials.map((t) => t.id));
    expect(objectives(remote.record!)).toEqual(objectives(local.record!));

    const pruned = withSearch(slurmProject(), '  prune: { method: asha, min_epochs: 1 }\n');
    const r = await paramflow(pruned, ['run', 'pipeline.yaml', ...SMALL, '--executor', 'slurm'], { env: slurmEnv() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/sweep\.prune needs to hear from each trial while it trains; --executor slurm cannot/);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+/);
    expect(readdirSync(join(pruned, '.paramflow'))).toEqual([]);
  }, 300_000);
});
