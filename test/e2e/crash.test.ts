import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

const STAGES = ['folds', 'noise', 'simulate'];

// Each case SIGKILLs a run at one named point (PARAMFLOW_CRASH_AT, see src/util/crash.ts),
// then checks that the next run recomputes exactly the unfinished stages and produces
// what an uninterrupted run produces.
const cases: { at: string; rerun: string[]; streamed?: boolean }[] = [
  { at: 'stage-progress:simulate@2', rerun: STAGES },
  { at: 'cache-write:simulate@3000', rerun: STAGES },
  { at: 'cache-write:noise@100', rerun: ['folds', 'noise'] },
  { at: 'cache-before-rename:noise', rerun: ['folds', 'noise'] },
  { at: 'cache-after-rename:noise', rerun: ['folds'] },
  { at: 'stage-start:folds', rerun: ['folds'] },
  // Writes: 1 at start, then one after each stage; the 3rd follows noise's commit.
  { at: 'runstore-write@2', rerun: ['folds', 'noise'] },
  { at: 'runstore-write@3', rerun: ['folds'] },
  { at: 'lock-acquired@2', rerun: ['folds', 'noise'] },
  // Every array streamed (PARAMFLOW_STREAM_BYTES=0): killed while a stage's sinks were being written.
  { at: 'stage-progress:simulate@2', rerun: STAGES, streamed: true },
  { at: 'cache-write:noise@100', rerun: ['folds', 'noise'], streamed: true },
  { at: 'cache-before-rename:noise', rerun: ['folds', 'noise'], streamed: true },
];

describe('crash consistency', () => {
  it.each(cases)(
    'killed at $at (streamed: $streamed): the next run recomputes $rerun and matches an uninterrupted run',
    async ({ at, rerun, streamed }) => {
      const reference = makeProject();
      const ref = await runRecord(reference, (await runJson(reference)).runId);

      const dir = makeProject();
      const stream: Record<string, string> = streamed ? { PARAMFLOW_STREAM_BYTES: '0' } : {};
      const killed = await paramflow(dir, ['run', 'pipeline.yaml'], { env: { PARAMFLOW_CRASH_AT: at, ...stream } });
      expect(killed.signal).toBe('SIGKILL');

      const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
      expect(runs.map((r) => r.status)).toEqual(['KILLED']);

      const next = await runJson(dir, [], stream);
      expect(next.executed.sort()).toEqual(rerun);
      const rec = await runRecord(dir, next.runId);
      for (const s of STAGES) expect(rec.stages[s]!.files, s).toEqual(ref.stages[s]!.files);

      // Leftovers of the killed writer are never entries, and verify finds nothing bad.
      const verify = await paramflow(dir, ['cache', 'verify']);
      expect(verify.exitCode).toBe(0);
      expect(verify.stdout).toMatch(/3 entries checked, 0 bad/);
      const tmp = join(dir, '.paramflow', 'cache', '.tmp');
      expect(readdirSync(tmp, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
    },
  );
});

describe('the run record of a partly cached run', () => {
  it('says which stages were cached before a later stage starts executing', async () => {
    const dir = makeProject();
    await runJson(dir);
    // simulate and noise are cached, folds executes (new k) and is killed as it starts.
    const killed = await paramflow(dir, ['run', 'pipeline.yaml', '--set', 'folds.k=3'], {
      env: { PARAMFLOW_CRASH_AT: 'stage-start:folds' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
      runId: string;
      status: string;
    }[];
    expect(runs.map((r) => r.status)).toEqual(['KILLED', 'FINISHED']);
    const rec = await runRecord(dir, runs[0]!.runId);
    expect(Object.fromEntries(Object.entries(rec.stages).map(([n, s]) => [n, s.status]))).toEqual({
      simulate: 'cached',
      noise: 'cached',
      folds: 'pending',
    });
  });
});
