import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import { acquireLock } from '../../src/project/lock.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { paramflow, quickProject, runRecord } from '../helpers/project.js';

// Many processes on one project: plain runs of one pipeline, an overlapping one, and a
// sweep, all at once; and `cache gc` while a run is live.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

type Status = { stages: { stage: string; key: string }[] };
const keyOf = async (dir: string, stage: string, args: string[] = []) =>
  (
    JSON.parse(
      String((await paramflow(dir, ['status', 'pipeline.yaml', '--json', ...SMALL, ...args])).stdout),
    ) as Status
  ).stages.find((s) => s.stage === stage)!.key;

async function allRuns(dir: string): Promise<RunRecord[]> {
  const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { runId: string }[];
  return Promise.all(listed.map((r) => runRecord(dir, r.runId)));
}

/** Polls the run store (a condition, not a clock) until `n` runs are RUNNING. */
async function untilRunning(dir: string, n: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await allRuns(dir)).filter((r) => r.status === 'RUNNING').length >= n) return;
  }
  throw new Error(`never saw ${n} runs RUNNING`);
}

describe('many processes on one project', () => {
  it('four runs (two overlapping) and a 2-trial sweep at once: every stage key computed once, all correct', async () => {
    const dir = quickProject();
    // Everyone blocks on simulate's lock until all six runs are up, so they truly overlap.
    const held = await acquireLock(new Layout(dir).lock(await keyOf(dir, 'simulate')));
    const procs = [
      paramflow(dir, ['run', 'pipeline.yaml', ...SMALL]),
      paramflow(dir, ['run', 'pipeline.yaml', ...SMALL]),
      paramflow(dir, ['run', 'pipeline.yaml', ...SMALL, '--set', 'train.batch_size=16']),
      paramflow(dir, ['run', 'pipeline.yaml', ...SMALL, '--set', 'train.batch_size=32']),
      paramflow(dir, ['run', 'pipeline.yaml', ...SMALL, '--sweep', 'train.batch_size=16,32', '--jobs', '2']),
    ];
    await untilRunning(dir, 6);
    await held.release();
    const results = await Promise.all(procs);
    expect(
      results.map((r) => r.exitCode),
      results.map((r) => String(r.stderr)).join('\n'),
    ).toEqual([0, 0, 0, 0, 0]);

    const runs = await allRuns(dir);
    expect(runs).toHaveLength(6);
    expect(runs.every((r) => r.status === 'FINISHED')).toBe(true);
    const executions = new Map<string, number>();
    const files = new Map<string, string>();
    for (const r of runs) {
      for (const s of Object.values(r.stages)) {
        if (s.status === 'executed') executions.set(s.key, (executions.get(s.key) ?? 0) + 1);
        const f = JSON.stringify(s.files);
        expect(files.get(s.key) ?? f, `stage key ${s.key}`).toBe(f);
        files.set(s.key, f);
      }
    }
    // Every distinct key ran exactly once: simulate, noise, folds, and train/evaluate per batch size (64, 16, 32).
    expect([...executions.values()].every((n) => n === 1)).toBe(true);
    expect(executions.size).toBe(3 + 2 * 3);
    expect(files.size).toBe(executions.size);
  }, 240_000);

  it('`cache gc --keep 0` while a run is live removes only what no live run uses; the run then finishes', async () => {
    const dir = quickProject();
    const first = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL]);
    expect(first.exitCode).toBe(0);
    const old = await allRuns(dir);

    // A second run with another batch size, held at its train stage's lock: live, and using simulate, noise, folds.
    const trainKey = await keyOf(dir, 'train', ['--set', 'train.batch_size=16']);
    const held = await acquireLock(new Layout(dir).lock(trainKey));
    const live = paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, '--set', 'train.batch_size=16']);
    await untilRunning(dir, 1);
    const gc = await paramflow(dir, ['cache', 'gc', '--keep', '0', '--json']);
    expect(gc.exitCode, String(gc.stderr)).toBe(0);
    const removed = (JSON.parse(String(gc.stdout)) as { removed: { key: string }[] }).removed.map((r) => r.key).sort();
    expect(removed).toEqual([old[0]!.stages.train!.key, old[0]!.stages.evaluate!.key].sort());
    await held.release();

    const r = await live;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const rec = await runRecord(dir, (JSON.parse(String(r.stdout)) as { runId: string }).runId);
    expect(Object.fromEntries(Object.entries(rec.stages).map(([n, s]) => [n, s.status]))).toEqual({
      simulate: 'cached',
      noise: 'cached',
      folds: 'cached',
      train: 'executed',
      evaluate: 'executed',
    });
    const verify = await paramflow(dir, ['cache', 'verify']);
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toMatch(/5 entries checked, 0 bad/);
  }, 240_000);
});
