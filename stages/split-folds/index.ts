import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { requireArrayInput } from '../../src/stage-contract/rows.js';
import { Rng } from '../../src/stage-contract/random.js';
import {
  defineStage,
  type ParamProblem,
  type StageContext,
  type StageInputs,
  type StageResult,
} from '../../src/stage-contract/types.js';

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
  streams: true, // only the number of rows is read
  inferShapes: (params, inputs) => {
    const n = inputs.targets?.shape[0];
    const problem = n === undefined ? undefined : foldsProblem(n, params);
    return { outputs: { folds: { shape: [n], dtype: 'int32' } }, problems: problem ? [problem] : [] };
  },
  run: (inputs, params, ctx) => runSplitFolds(inputs, params, ctx),
});

/** Every fold needs a dataset: n datasets, less the holdout, must be at least k. */
function foldsProblem(n: number, { k, holdout }: SplitFoldsParams): ParamProblem | undefined {
  const held = Math.round(holdout * n);
  if (n - held >= k) return undefined;
  const left =
    held > 0
      ? `${n - held} datasets outside the holdout (${n} in \`targets\`, ${held} held out)`
      : `${n} datasets in \`targets\``;
  return {
    pointer: held > 0 && n >= k ? '/holdout' : '/k',
    message: `k = ${k} folds need at least ${k} datasets, but there are ${left}`,
    hint: `${held > 0 ? 'lower k or holdout' : 'lower k'}, or simulate more datasets`,
  };
}

function runSplitFolds(inputs: StageInputs, params: SplitFoldsParams, ctx: StageContext): StageResult {
  // Only the number of datasets matters; the values never reach the split (no stratification).
  const n = requireArrayInput(inputs, 'targets', 'split-folds').shape[0] ?? 0;
  const { k, holdout } = params;
  const held = Math.round(holdout * n);
  const problem = foldsProblem(n, params);
  if (problem)
    throw new ParamflowError('PF_STAGE_FAILED', `split-folds: ${problem.message}`, {
      hint: problem.hint,
      pointer: problem.pointer,
    });
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
