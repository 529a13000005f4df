import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { paramflow, runJson, runRecord, quickProject, leftCheckpoints } from '../helpers/project.js';

// Crash consistency with training in the pipeline (crash.test.ts covers the data stages):
// each case SIGKILLs a run of quick.yaml at one named point (PARAMFLOW_CRASH_AT, see
// src/util/crash.ts), then checks that the run store says KILLED, no partial entry is
// used, `cache verify` finds nothing bad, and the next run recomputes exactly the
// unfinished stages — resuming training from its checkpoint where there is one — with
// outputs bit-identical to an uninterrupted run.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=3'];
const STAGES = ['simulate', 'noise', 'folds', 'train', 'evaluate'];

const cases: { at: string; rerun: string[]; resumes?: boolean }[] = [
  { at: 'train-batch@7', rerun: ['evaluate', 'train'] },
  { at: 'stage-progress:train@2', rerun: ['evaluate', 'train'], resumes: true },
  { at: 'checkpoint-partial@3', rerun: ['evaluate', 'train'] },
  { at: 'checkpoint-swap@2', rerun: ['evaluate', 'train'] },
  { at: 'cache-write:train@2000', rerun: ['evaluate', 'train'], resumes: true },
  { at: 'cache-before-rename:train', rerun: ['evaluate', 'train'], resumes: true },
  { at: 'cache-after-rename:train', rerun: ['evaluate'] },
  { at: 'stage-start:evaluate', rerun: ['evaluate'] },
  { at: 'cache-write:evaluate@3000', rerun: ['evaluate'] },
  // run.json is written at the start and after each stage: the 5th write follows train's commit.
  { at: 'runstore-write@5', rerun: ['evaluate'] },
  // Locks are taken stage by stage: the 4th is train's.
  { at: 'lock-acquired@4', rerun: ['evaluate', 'train'] },
];

let reference: RunRecord;
beforeAll(async () => {
  const dir = quickProject();
  reference = await runRecord(dir, (await runJson(dir, SMALL)).runId);
}, 120_000);

describe('crash consistency with training', () => {
  it.each(cases)(
    'killed at $at: the next run recomputes $rerun and matches an uninterrupted run',
    async ({ at, rerun, resumes }) => {
      const dir = quickProject();
      const killed = await paramflow(dir, ['run', 'pipeline.yaml', ...SMALL], {
        env: { PARAMFLOW_CRASH_AT: at, PARAMFLOW_CHECKPOINT_SECONDS: '0' },
      });
      expect(killed.signal, String(killed.stderr)).toBe('SIGKILL');
      const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
      expect(runs.map((r) => r.status)).toEqual(['KILLED']);

      const verify = await paramflow(dir, ['cache', 'verify']);
      expect(verify.exitCode, String(verify.stdout)).toBe(0);
      expect(verify.stdout).toMatch(/, 0 bad/);

      const next = await runJson(dir, SMALL);
      expect(next.executed.sort()).toEqual(rerun);
      const rec = await runRecord(dir, next.runId);
      for (const s of STAGES) expect(rec.stages[s]!.files, s).toEqual(reference.stages[s]!.files);
      expect(rec.metrics).toEqual(reference.metrics);
      const trainLog = rerun.includes('train')
        ? readFileSync(join(dir, '.paramflow', 'runs', next.runId, 'logs', 'train.log'), 'utf8')
        : '';
      if (resumes) expect(trainLog).toMatch(/resuming from the checkpoint/);

      // verify cleared the killed writers' temp folders; the finished run left no checkpoint.
      const tmp = join(dir, '.paramflow', 'cache', '.tmp');
      expect(readdirSync(tmp, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
      expect(leftCheckpoints(dir)).toEqual([]);
    },
    120_000,
  );
});
