import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { leftCheckpoints, paramflow, quickProject, runJson, runRecord } from '../helpers/project.js';

// Issue 18 item 6: Ctrl-C during training. The fused step is a synchronous addon call, so
// without yielding to the event loop the SIGINT handler ran only when the stage ended, and the
// interrupted run kept no checkpoint. Now the first Ctrl-C writes a checkpoint at the batch it
// lands on and stops; the next run resumes there and gives the uninterrupted run's bits.
// Long enough (seconds, where quick.yaml trains in a third of one) that the Ctrl-C the test
// sends on seeing training start lands while it trains, however slowly its stderr reaches the test.
const ARGS = [
  '--set',
  'evaluate.plots=false',
  '--set',
  'train.epochs=400',
  '--set',
  'train.early_stopping.patience=400',
];
// No epoch checkpoints: the only one there can be is the one Ctrl-C writes.
const NO_EPOCH_CHECKPOINTS = { PARAMFLOW_CHECKPOINT_SECONDS: '3600' };

let reference: RunRecord;
beforeAll(async () => {
  const dir = quickProject();
  reference = await runRecord(dir, (await runJson(dir, ARGS)).runId);
}, 120_000);

describe('Ctrl-C during training', () => {
  it('checkpoints at once, stops with 130, and the next run resumes to the same bits', async () => {
    const dir = quickProject();
    const proc = paramflow(dir, ['run', 'pipeline.yaml', ...ARGS], { env: NO_EPOCH_CHECKPOINTS });
    // Interrupt as soon as training starts (the line comes just before fold 0's first batch).
    await new Promise<void>((resolve) => {
      let seen = '';
      proc.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/train: training with/.test(seen)) resolve();
      });
    });
    proc.kill('SIGINT');
    const killed = await proc;
    expect(killed.exitCode, String(killed.stderr)).toBe(130);
    expect(killed.stderr).toMatch(/train: interrupted: saved a checkpoint at fold \d/);

    // The checkpoint Ctrl-C wrote: training had not finished (it stopped where it was).
    const [key] = leftCheckpoints(dir);
    expect(key).toBeDefined();
    const state = JSON.parse(readFileSync(join(dir, '.paramflow', 'checkpoints', key!, 'state.json'), 'utf8')) as {
      finished: unknown[];
      current?: { state: { partial?: { batch: number } } };
    };
    expect(state.finished.length).toBeLessThan(4);
    const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['KILLED']);

    const next = await runJson(dir, ARGS);
    expect(next.executed.sort()).toEqual(['evaluate', 'train']);
    const log = readFileSync(join(dir, '.paramflow', 'runs', next.runId, 'logs', 'train.log'), 'utf8');
    expect(log).toMatch(/resuming from the checkpoint at fold \d/);
    const rec = await runRecord(dir, next.runId);
    for (const s of ['train', 'evaluate']) expect(rec.stages[s]!.files, s).toEqual(reference.stages[s]!.files);
    expect(rec.metrics).toEqual(reference.metrics);
    expect(leftCheckpoints(dir)).toEqual([]);
    expect(readdirSync(join(dir, '.paramflow', 'runs'))).toHaveLength(2);
  }, 120_000);
});
