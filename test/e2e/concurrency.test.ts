import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import { acquireLock } from '../../src/project/lock.js';
import { makeProject, paramflow, runRecord } from '../helpers/project.js';

/** Resolves when `text` has appeared on the subprocess's stderr. */
function waitForStderr(proc: ReturnType<typeof paramflow>, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) resolve();
    });
    proc.then(() => reject(new Error(`process ended before printing ${pattern}:\n${seen}`)), reject);
  });
}

describe('two runs of one pipeline at once', () => {
  it('compute each shared stage once and both finish correctly', async () => {
    const dir = makeProject();
    const status = JSON.parse(String((await paramflow(dir, ['status', 'pipeline.yaml', '--json'])).stdout)) as {
      stages: { stage: string; key: string }[];
    };
    const simulateKey = status.stages.find((s) => s.stage === 'simulate')!.key;

    // Hold simulate's lock so both processes are certainly contending, then let go.
    const held = await acquireLock(new Layout(dir).lock(simulateKey));
    const a = paramflow(dir, ['run', 'pipeline.yaml', '--json']);
    const b = paramflow(dir, ['run', 'pipeline.yaml', '--json']);
    await Promise.all([waitForStderr(a, /simulate: waiting for/), waitForStderr(b, /simulate: waiting for/)]);
    await held.release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.exitCode).toBe(0);
    expect(rb.exitCode).toBe(0);

    const ja = JSON.parse(String(ra.stdout)) as { runId: string; executed: string[] };
    const jb = JSON.parse(String(rb.stdout)) as { runId: string; executed: string[] };
    const executed = [...ja.executed, ...jb.executed].sort();
    expect(executed).toEqual(['folds', 'noise', 'simulate']);
    const [recA, recB] = await Promise.all([runRecord(dir, ja.runId), runRecord(dir, jb.runId)]);
    expect(recA.status).toBe('FINISHED');
    expect(recB.status).toBe('FINISHED');
    for (const s of ['simulate', 'noise', 'folds']) expect(recA.stages[s]!.files).toEqual(recB.stages[s]!.files);
  });
});
