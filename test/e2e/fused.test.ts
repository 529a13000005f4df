import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { paramflow, quickProject, runRecord } from '../helpers/project.js';

// The fused native trainer (stages/train/fused.ts) must not change the science: quick.yaml
// scores the same with it as with tfjs-layers (PARAMFLOW_FUSED=0) on the native backend.
describe.skipIf(NATIVE_PROBLEM !== undefined)(
  needsNative('quick.yaml with the fused trainer and with tfjs-layers'),
  () => {
    it(
      'gives cv_rmse_mean within 2%, under different train keys, each saying which trainer ran',
      { timeout: 240_000 },
      async () => {
        const score = async (fused: string) => {
          const dir = quickProject();
          const r = await paramflow(dir, ['run', 'pipeline.yaml', '--backend', 'native', '--json'], {
            env: { PARAMFLOW_FUSED: fused },
          });
          expect(r.exitCode, String(r.stderr)).toBe(0);
          const rec = await runRecord(dir, (JSON.parse(String(r.stdout)) as { runId: string }).runId);
          return {
            cv: rec.metrics.cv_rmse_mean!,
            key: rec.stages.train!.key,
            env: rec.stages.train!.details.env,
            log: String(r.stderr),
          };
        };
        const [fused, tfjs] = await Promise.all([score('1'), score('0')]);
        expect(fused.cv).toBeGreaterThan(0);
        expect(Math.abs(fused.cv - tfjs.cv) / tfjs.cv).toBeLessThan(0.02);
        expect(fused.key).not.toBe(tfjs.key);
        expect(fused.env.trainer).toBe('fused-1');
        expect(tfjs.env.trainer).toBeUndefined();
        expect(fused.log).toContain('training with the fused native trainer');
        expect(tfjs.log).toContain('training with tfjs-layers (no fused trainer: PARAMFLOW_FUSED=0)');
      },
    );
  },
);

describe('PARAMFLOW_FUSED', () => {
  it('refuses a value other than 0 or 1, naming the variable, before anything is written (exit 2)', async () => {
    const dir = quickProject();
    const before = readdirSync(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['run', 'pipeline.yaml'], { env: { PARAMFLOW_FUSED: 'yes' } });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('PARAMFLOW_FUSED must be 0 or 1, not "yes"');
    expect(String(r.stderr)).toContain('PARAMFLOW_FUSED');
    expect(readdirSync(join(dir, '.paramflow'))).toEqual(before);
  });
});
