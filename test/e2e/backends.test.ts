import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { makeProject, paramflow, REPO, runRecord } from '../helpers/project.js';

// Speed must not change the science: quick.yaml scores the same on native as on wasm (2%).
describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('quick.yaml on native and wasm'), () => {
  it(
    'gives cv_rmse_mean within 2% of each other, each recorded under its own backend',
    { timeout: 240_000 },
    async () => {
      const score = async (backend: string) => {
        const dir = makeProject();
        copyFileSync(join(REPO, 'pipelines', 'quick.yaml'), join(dir, 'pipeline.yaml'));
        const r = await paramflow(dir, ['run', 'pipeline.yaml', '--backend', backend, '--json']);
        expect(r.exitCode, String(r.stderr)).toBe(0);
        const rec = await runRecord(dir, (JSON.parse(String(r.stdout)) as { runId: string }).runId);
        expect(rec.environment.backend?.name).toBe(backend);
        expect(rec.stages.train!.details.env.backend).toBe(backend);
        return rec.metrics.cv_rmse_mean!;
      };
      const [native, wasm] = await Promise.all([score('native'), score('wasm')]);
      expect(native).toBeGreaterThan(0);
      expect(Math.abs(native - wasm) / wasm).toBeLessThan(0.02);
    },
  );
});
