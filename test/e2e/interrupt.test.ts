import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import { acquireLock } from '../../src/project/lock.js';
import { makeProject, paramflow, runRecord } from '../helpers/project.js';

describe('SIGINT', () => {
  it('marks the run KILLED, exits 130, and leaves no cache entry behind', async () => {
    const dir = makeProject();
    const status = JSON.parse(String((await paramflow(dir, ['status', 'pipeline.yaml', '--json'])).stdout)) as {
      stages: { stage: string; key: string }[];
    };
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

  it('stops a stage in the middle of long synchronous work (a slow simulator), not after it', async () => {
    // 100,000 curves of a model that takes about a millisecond per curve: minutes of work, so
    // the run can only end in time if simulate itself gives up when Ctrl-C comes.
    const dir = makeProject(
      `name: slow\nstages:\n  simulate:\n    uses: simulate\n    with:\n      n: 100000\n      model: ./slow.mjs\n      x: { start: 0, stop: 1, points: 10 }\n      params: { a: { uniform: [0, 1] } }\n`,
    );
    writeFileSync(
      join(dir, 'slow.mjs'),
      'export default (x, p) => { let s = 0; for (let i = 0; i < 10000; i++) s += Math.sin(x + i); return p.a + 0 * s; };\n',
    );
    const proc = paramflow(dir, ['run', 'pipeline.yaml', '--json']);
    await new Promise<void>((resolve) => {
      let seen = '';
      proc.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/simulate: running/.test(seen)) resolve();
      });
    });
    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(130);
    const record = await runRecord(dir, (JSON.parse(String(result.stdout)) as { runId: string }).runId);
    expect(record.status).toBe('KILLED');
    expect(record.stages.simulate).toMatchObject({ status: 'failed', error: { code: 'PF_INTERRUPTED' } });
    expect(JSON.parse(String((await paramflow(dir, ['cache', 'ls', '--json'])).stdout))).toEqual([]);
  }, 60_000);
});
