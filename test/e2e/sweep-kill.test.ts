import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import { acquireLock } from '../../src/project/lock.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { paramflow, quickProject } from '../helpers/project.js';

// Issue 18 item 14: a SIGKILLed sweep listed its trials running/pending forever, and `runs rm`
// of a live run exited 0 without removing it.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

async function holdLock(dir: string, stage: string) {
  const status = JSON.parse(String((await paramflow(dir, ['status', 'pipeline.yaml', '--json', ...SMALL])).stdout)) as {
    stages: { stage: string; key: string }[];
  };
  return acquireLock(new Layout(dir).lock(status.stages.find((s) => s.stage === stage)!.key));
}
const listed = async (dir: string) =>
  JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { runId: string; status: string }[];

describe('a SIGKILLed sweep and live runs', () => {
  it('the next command records the dead sweep and its unfinished trials KILLED', async () => {
    const dir = quickProject();
    // Workers block on simulate's lock: the kill lands while two trials run and one is pending.
    const held = await holdLock(dir, 'simulate');
    const proc = paramflow(dir, [
      'run',
      'pipeline.yaml',
      ...SMALL,
      '--sweep',
      'train.batch_size=16,32,64',
      '--jobs',
      '2',
    ]);
    for (let i = 0; i < 600 && (await listed(dir)).filter((x) => x.status === 'RUNNING').length < 2; i++)
      await new Promise((r) => setImmediate(r));
    const [sweepId] = readdirSync(join(dir, '.paramflow', 'sweeps'));
    const file = join(dir, '.paramflow', 'sweeps', sweepId!, 'sweep.json');
    const before = JSON.parse(readFileSync(file, 'utf8')) as SweepRecord;
    expect(before.trials.map((t) => t.replicates[0]!.status).sort()).toEqual(['pending', 'running', 'running']);
    proc.kill('SIGKILL');
    await proc;
    await held.release();

    const table = await paramflow(dir, ['runs', '--sweep', sweepId!, '--json']);
    expect(table.exitCode, String(table.stderr)).toBe(0);
    const shown = JSON.parse(String(table.stdout)) as { status: string; trials: { status: string }[] };
    expect(shown.status).toBe('KILLED');
    expect(shown.trials.map((t) => t.status)).toEqual(['KILLED', 'KILLED', 'KILLED']);
    // Recorded, not only shown: sweep.json itself now says so.
    const after = JSON.parse(readFileSync(file, 'utf8')) as SweepRecord;
    expect(after.status).toBe('KILLED');
    expect(after.trials.flatMap((t) => t.replicates.map((x) => x.status))).toEqual(['KILLED', 'KILLED', 'KILLED']);
    expect(after.trials[0]!.replicates[0]!.error).toMatch(
      new RegExp(`sweep's process \\(pid ${before.pid} on .+\\) died`),
    );
    // Its workers stopped their trials too (the lock they waited for is free now): no trial run
    // goes on to finish for a sweep recorded KILLED.
    for (let i = 0; i < 600 && (await listed(dir)).some((x) => x.status === 'RUNNING'); i++)
      await new Promise((r) => setImmediate(r));
    expect((await listed(dir)).map((x) => x.status)).toEqual(['KILLED', 'KILLED']);
  }, 120_000);

  it('`runs rm` of a live run exits 1 with the reason and keeps it; a finished one is removed', async () => {
    const dir = quickProject();
    const done = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, '--set', 'train.epochs=1']);
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const finished = (JSON.parse(String(done.stdout)) as { runId: string }).runId;
    // The live run waits on train's lock (its data stages are cached by the first run).
    const held = await holdLock(dir, 'train');
    const proc = paramflow(dir, ['run', 'pipeline.yaml', ...SMALL]);
    await new Promise<void>((resolve) => {
      let seen = '';
      proc.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/waiting for/.test(seen)) resolve();
      });
    });
    const live = (await listed(dir)).find((r) => r.status === 'RUNNING')!.runId;
    const rm = await paramflow(dir, ['runs', 'rm', live, finished]);
    expect(rm.exitCode).toBe(1);
    expect(rm.stderr).toMatch(
      new RegExp(`error PF_RUN_STORE: not removed: run ${live} is still running \\(pid ${proc.pid} on .+\\)`),
    );
    expect(rm.stderr).toMatch(/hint: stop it first/);
    expect(rm.stdout).toMatch(new RegExp(`removed run ${finished}`));
    expect(existsSync(join(dir, '.paramflow', 'runs', live))).toBe(true);
    expect(existsSync(join(dir, '.paramflow', 'runs', finished))).toBe(false);
    proc.kill('SIGINT');
    await proc;
    await held.release();
  }, 120_000);
});
