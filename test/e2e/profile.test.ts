import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { StageProfile } from '../../src/backend/profile.js';
import { FUSED_STEP } from '../../stages/train/fused.js';
import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { makeProject, paramflow, REPO } from '../helpers/project.js';

// `paramflow run --profile`: time per stage, and per kernel for the stages that run TensorFlow.

/** quick.yaml, small (200 curves, 2 epochs, one job at a time), run with --profile --json. */
function quickProfiled(extra: string[] = []): { dir: string; args: string[] } {
  const dir = makeProject();
  copyFileSync(join(REPO, 'pipelines', 'quick.yaml'), join(dir, 'pipeline.yaml'));
  const sets = ['--set', 'train.epochs=2', '--set', 'simulate.n=200', '--jobs', '1'];
  return { dir, args: ['run', 'pipeline.yaml', ...sets, ...extra, '--profile', '--json'] };
}
describe('paramflow run --profile', () => {
  it('reports each executed stage, and the train stage kernel by kernel; a cached rerun says there is nothing to profile', async () => {
    const { dir, args } = quickProfiled();
    const run = await paramflow(dir, args);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const out = JSON.parse(String(run.stdout)) as { executed: string[]; profile: StageProfile[] };
    expect(out.profile.map((p) => p.stage)).toEqual(out.executed);
    const train = out.profile.find((p) => p.stage === 'train')!;
    const names = train.kernels.map((k) => k.kernel);
    // Dense layers: a matmul forward and two backward per layer and step through tfjs; on native
    // the fused trainer does the steps and the validation passes in the addon, one kernel a step.
    expect(names.some((n) => n === 'BatchMatMul' || n === '_FusedMatMul' || n === FUSED_STEP)).toBe(true);
    for (const k of train.kernels) {
      expect(k.calls).toBeGreaterThan(0);
      expect(k.ms).toBeGreaterThanOrEqual(0);
    }
    expect(train.kernelMs).toBeLessThanOrEqual(train.ms + 1);
    expect(out.profile.find((p) => p.stage === 'simulate')!.kernels).toEqual([]);
    expect(String(run.stderr)).toMatch(/^profile \(ms; TensorFlow\.js backend \S+\)$/m);
    expect(String(run.stderr)).toMatch(/^train: kernels, slowest first/m);

    const again = await paramflow(dir, args);
    expect(again.exitCode).toBe(0);
    expect((JSON.parse(String(again.stdout)) as { profile: StageProfile[] }).profile).toEqual([]);
    expect(String(again.stderr)).toContain('profile: no stage executed (all cached)');
  });

  it.skipIf(NATIVE_PROBLEM !== undefined)(
    needsNative('on native, each fused training step is counted as one FusedTrainStep kernel'),
    async () => {
      // 200 curves, 4 folds: 150 training rows a fold, batch 64 → 3 steps an epoch; 2 epochs (early stopping cannot stop before epoch 9).
      const { dir, args } = quickProfiled(['--backend', 'native']);
      const run = await paramflow(dir, args);
      expect(run.exitCode, String(run.stderr)).toBe(0);
      const train = (JSON.parse(String(run.stdout)) as { profile: StageProfile[] }).profile.find(
        (p) => p.stage === 'train',
      )!;
      const step = train.kernels.find((k) => k.kernel === FUSED_STEP);
      expect(step?.calls).toBe(4 * 2 * 3);
      expect(step!.ms).toBeLessThanOrEqual(train.kernelMs);
    },
  );
});
