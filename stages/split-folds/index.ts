import { ParamflowError } from '../../src/errors.js';
import { ndarray, requireArray } from '../../src/stage/ndarray.js';
import { Rng } from '../../src/stage/random.js';
import { defineStage, type StageContext, type StageInputs, type StageResult } from '../../src/stage/types.js';

/** The validated `with:` of split-folds (the schema fills k = 4, holdout = 0). */
export interface SplitFoldsParams {
  readonly k: number;
  readonly holdout: number;
}

/** Fold id of holdout datasets in the `folds` output. */
export const HOLDOUT = -1;

/**
 * Assigns every dataset to one of k folds, or to the holdout. A seeded
 * Fisher–Yates shuffle of 0…N-1 (`new Rng(seed)`); the first round(holdout·N)
 * shuffled indices are the holdout (-1), the rest are dealt round-robin to folds
 * 0…k-1, so fold sizes differ by at most one. Outputs `folds`: int32, length N.
 */
export const splitFolds = defineStage<SplitFoldsParams>({
  name: 'split-folds',
  version: '1',
  schema: 'stages/split-folds.schema.json',
  inputs: ['targets'],
  outputs: [{ name: 'folds', kind: 'ndarray' }],
  run: (inputs, params, ctx) => runSplitFolds(inputs, params, ctx),
});

function runSplitFolds(inputs: StageInputs, params: SplitFoldsParams, ctx: StageContext): StageResult {
  // Only the number of datasets matters; the values never reach the split (no stratification).
  const n = requireArray(inputs, 'targets', 'split-folds').shape[0] ?? 0;
  const { k, holdout } = params;
  const held = Math.round(holdout * n);
  if (n - held < k) {
    throw new ParamflowError(
      'PF_STAGE_FAILED',
      `split-folds needs at least k = ${k} datasets outside the holdout, but there are ${n - held} (${n} datasets, ${held} held out)`,
      { hint: 'lower k or holdout, or simulate more datasets' },
    );
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  new Rng(ctx.seed).shuffle(order);

  const folds = ndarray('int32', [n]);
  for (let r = 0; r < n; r++) {
    const index = order[r] as number;
    folds.data[index] = r < held ? HOLDOUT : (r - held) % k;
  }
  ctx.progress(n, n, 'datasets');
  return { outputs: { folds } };
}
