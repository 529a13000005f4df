import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/cache/layout.js';
import { acquireLock } from '../../src/cache/lock.js';
import { makeProject, paramflow } from '../helpers/project.js';

describe('SIGINT', () => {
  it('marks the run KILLED, exits 130, and leaves no cache entry behind', async () => {
    const dir = makeProject();
    const status = JSON.parse(String((await paramflow(dir, ['status', 'pipeline.yaml', '--json'])).stdout)) as { stages: { stage: string; key: string }[] };
    const key = status.stages.find((s) => s.stage === 'simulate')!.key;
    // The run blocks on simulate's lock, so the interrupt lands at a known place.
    const held = await acquireLock(new Layout(dir).lock(key));
    const proc = paramflow(dir, ['run', 'pipeline.yaml']);
    await new Promise<void>((resolve) => {
      let seen = '';
      proc.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/waiting for/.test(seen)) resolve();
      });
    });
    proc.kill('SIGINT');
    const result = await proc;
    await held.release();
    expect(result.exitCode).toBe(130);
    const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['KILLED']);
    const ls = JSON.parse(String((await paramflow(dir, ['cache', 'ls', '--json'])).stdout)) as unknown[];
    expect(ls).toEqual([]);
  });
});
