import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadAddon, nativeProblem } from '../../src/backend/native/addon.js';
import { quickProject, runJson, runRecord } from '../helpers/project.js';

// The promise behind a shared cache: a train entry made with one GEMM kernel (one CPU) is the
// entry any other kernel would make. quick.yaml, end to end, with each kernel this CPU runs
// and on 1 and 2 threads: the same key, model bytes and cv_rmse_mean to the last bit.

const problem = nativeProblem();
const kernels = problem ? [] : loadAddon().gemmKernels();
const ownGemm = !problem && loadAddon().gemmKernel() !== 'openblas';

async function trainOnce(kernel: string, threads: number) {
  const dir = quickProject();
  const { runId } = await runJson(dir, ['--backend', 'native'], {
    PARAMFLOW_GEMM_KERNEL: kernel,
    PARAMFLOW_BLAS_THREADS: String(threads),
  });
  const rec = await runRecord(dir, runId);
  const entry = join(dir, '.paramflow', 'cache', rec.stages.train!.key);
  const weights = createHash('sha256');
  for (let fold = 0; fold < 4; fold++)
    weights.update(readFileSync(join(entry, 'model', `fold-${fold}`, 'weights.bin')));
  return {
    key: rec.stages.train!.key,
    arithmetic: rec.stages.train!.details.env.arithmetic,
    weights: weights.digest('hex'),
    cv: rec.metrics.cv_rmse_mean,
  };
}

const notOwn =
  problem ?? (ownGemm ? undefined : 'the installed addon is an opt-in OpenBLAS build (PARAMFLOW_BLAS=openblas)');
describe.skipIf(!ownGemm)(`quick.yaml on every GEMM kernel${notOwn ? ` (skipped: ${notOwn})` : ''}`, () => {
  it(
    'trains to the same bits with each kernel and thread count, under one key that names the arithmetic',
    { timeout: 300_000 },
    async () => {
      const runs = [{ kernel: kernels[0]!, threads: 2 }, ...kernels.map((kernel) => ({ kernel, threads: 1 }))];
      const results = [];
      for (const { kernel, threads } of runs) results.push({ kernel, threads, ...(await trainOnce(kernel, threads)) });
      const first = results[0]!;
      expect(first.arithmetic).toBe(loadAddon().arithmetic());
      expect(first.cv).toBeGreaterThan(0);
      for (const r of results.slice(1)) {
        const label = `${r.kernel} on ${r.threads} thread(s) vs ${first.kernel} on ${first.threads}`;
        expect(r.key, label).toBe(first.key);
        expect(r.weights, label).toBe(first.weights);
        expect(Object.is(r.cv, first.cv), `${label}: ${r.cv} vs ${first.cv}`).toBe(true);
      }
    },
  );
});
