import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { makeProject, paramflow, REPO } from '../helpers/project.js';

// The shipped BN study (docs/bn-study.md) runs end to end, shrunk to seconds: every trial of its
// 5 × 2 × 2 grid finishes and is named by its choices.
describe('pipelines/seed-bn-study.yaml', () => {
  it('runs its 20 trials (small data, one epoch), each named by its layer choice', async () => {
    const dir = makeProject();
    copyFileSync(join(REPO, 'pipelines', 'seed-bn-study.yaml'), join(dir, 'pipeline.yaml'));
    const small = ['simulate.n=160', 'simulate.x.points=20', 'train.epochs=1'].flatMap((s) => ['--set', s]);
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--jobs', '2', ...small]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const sweep = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(sweep.trials).toHaveLength(20);
    expect(sweep.trials.every((t) => t.replicates[0]!.status === 'FINISHED')).toBe(true);
    expect(new Set(sweep.trials.map((t) => t.labels?.['train.layers']))).toEqual(
      new Set(['linear-output', 'bn-output']),
    );
  }, 240_000);
});

// The shipped TPE search (docs/sweeps.md) runs end to end, shrunk: its budget of proposals,
// its choices named, ASHA's first rung (epoch 5) reached.
describe('pipelines/seed-tpe-sweep.yaml', () => {
  it('proposes its 30 trials (small data, 6 epochs), names the layer choice, and may prune', async () => {
    const dir = makeProject();
    copyFileSync(join(REPO, 'pipelines', 'seed-tpe-sweep.yaml'), join(dir, 'pipeline.yaml'));
    const small = ['simulate.n=160', 'simulate.x.points=20', 'train.epochs=6'].flatMap((s) => ['--set', s]);
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--jobs', '2', ...small]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const sweep = JSON.parse(String(r.stdout)) as SweepRecord;
    expect(sweep.trials).toHaveLength(30);
    expect(sweep.stopped).toBe('budget: 30 trials');
    for (const t of sweep.trials) {
      expect(['FINISHED', 'PRUNED']).toContain(t.replicates[0]!.status);
      expect(['linear-output', 'bn-output']).toContain(t.labels?.['train.layers']);
      expect(t.values['train.layers.0.dense.units']).toBeGreaterThanOrEqual(16);
    }
    expect(sweep.best).toBeDefined();
  }, 240_000);
});
