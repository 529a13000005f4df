import { addNoise } from './add-noise/index.js';
import { command } from './command/index.js';
import { evaluate } from './evaluate/index.js';
import { load } from './load/index.js';
import { simulate } from './simulate/index.js';
import { splitFolds } from './split-folds/index.js';
import { train } from './train/index.js';
import type { StageDefinition } from '../src/stage-contract/types.js';

export { addNoise, type AddNoiseParams } from './add-noise/index.js';
export { checkSimulateParams, simulate, type ParamIssue, type SimulateParams } from './simulate/index.js';
export { HOLDOUT, splitFolds, type SplitFoldsParams } from './split-folds/index.js';

/** The stages a bare `uses:` name refers to (`any`: params differ per stage, each checked by its schema). */
export const builtinStages: readonly StageDefinition<any>[] = [
  simulate,
  addNoise,
  splitFolds,
  evaluate,
  train,
  command,
  load,
];
