import type { FoldHistory } from '../../src/model/history.js';
import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { requireArrayInput, wholeArray, type ArrayInput } from '../../src/stage-contract/rows.js';
import type { FolderArtifact, JsonValue, NdArray, StageInputs } from '../../src/stage-contract/types.js';
import { foldCount } from '../../src/model/features.js';
import { MODEL_JSON, WEIGHTS_BIN } from '../../src/model/model-io.js';
import type { FoldScaler, Scalers } from '../../src/model/scalers.js';

const STAGE = 'evaluate';

/** evaluate's inputs, checked against each other. */
export interface EvaluateInputs {
  X: ArrayInput;
  Y: ArrayInput;
  targets: NdArray;
  folds: NdArray;
  model: FolderArtifact;
  scalers: Scalers;
  history: FoldHistory[] | undefined;
  /** Datasets (rows of X, Y, targets, folds). */
  n: number;
  /** Targets per dataset. */
  k: number;
  /** Cross-validation folds (holdout rows, fold −1, belong to none). */
  foldCount: number;
  /** Every dataset is new data (fold −1): predicted by the mean of all fold models. */
  measured: boolean;
}

/**
 * Reads and cross-checks the inputs: shapes agree, and there is a model and a scaler for
 * every fold. `measured`: no folds input; every dataset is new to every fold model (fold −1).
 */
export function readInputs(inputs: StageInputs, measured = false): EvaluateInputs {
  const X = requireArrayInput(inputs, 'X', STAGE);
  const Y = requireArrayInput(inputs, 'Y', STAGE);
  const targets = wholeArray(requireArrayInput(inputs, 'targets', STAGE));
  const model = requireFolder(inputs, 'model');
  const scalers = requireJson(inputs, 'scalers') as unknown as Scalers;
  const folds = measured
    ? ndarray('int32', [X.shape[0] ?? 0], new Int32Array(X.shape[0] ?? 0).fill(-1))
    : wholeArray(requireArrayInput(inputs, 'folds', STAGE));
  const history = inputs.history === undefined ? undefined : readHistory(requireJson(inputs, 'history'));

  const n = X.shape[0] ?? 0;
  const k = targets.shape.length === 1 ? 1 : (targets.shape[1] ?? 0);
  const sameCurves = X.shape.length === 2 && Y.shape.length === 2 && Y.shape[0] === n && Y.shape[1] === X.shape[1];
  if (!sameCurves || targets.shape[0] !== n || folds.shape[0] !== n) {
    const shapes = `X [${X.shape.join(', ')}], Y [${Y.shape.join(', ')}], targets [${targets.shape.join(', ')}], folds [${folds.shape.join(', ')}]`;
    fail(
      `inputs disagree on the number of datasets or points: ${shapes}`,
      'X, Y and targets must come from one simulate/add-noise stage, and folds from a split-folds stage over those targets',
    );
  }
  const count = measured ? (Array.isArray(scalers?.folds) ? scalers.folds.length : 0) : foldCount(folds);
  if (count < 1)
    fail('folds has no cross-validation fold (every dataset is in the holdout)', 'lower split-folds holdout');
  checkScalers(scalers, count, k, 2 * (X.shape[1] ?? 0));
  for (let fold = 0; fold < count; fold++) {
    for (const file of [MODEL_JSON, WEIGHTS_BIN]) {
      if (!model.files[`fold-${fold}/${file}`]) {
        fail(
          `the model input has no fold-${fold}/${file} (folds has ${count} folds)`,
          'evaluate needs the model of every fold: use the train stage that ran on these folds',
        );
      }
    }
  }
  return { X, Y, targets, folds, model, scalers, history, n, k, foldCount: count, measured };
}

function checkScalers(s: Scalers, count: number, k: number, features: number): void {
  if (s?.format !== 1 || !Array.isArray(s.folds))
    fail('the scalers input is not a train scalers document (format 1)', 'list the train stage under needs:');
  if (s.folds.length !== count)
    fail(
      `scalers has ${s.folds.length} fold scalers but folds has ${count} folds`,
      'train and evaluate must read the same split-folds output',
    );
  if (s.features !== features)
    fail(
      `scalers were fitted on ${s.features} features but X and Y give ${features} (2 × points)`,
      'train and evaluate must read the same X and Y',
    );
  s.folds.forEach((f: FoldScaler, i) => {
    if (f.targets.mean.length !== k || f.targets.std.length !== k) {
      fail(
        `the scaler of fold ${i} has ${f.targets.mean.length} targets but targets has ${k} columns`,
        'train and evaluate must read the same targets',
      );
    }
  });
}

function readHistory(value: JsonValue): FoldHistory[] {
  const folds = (value as { folds?: unknown } | null)?.folds;
  if (!Array.isArray(folds) || !folds.every((f) => Array.isArray((f as { epochs?: unknown } | null)?.epochs))) {
    fail(
      'the history input is not a train history document ({ folds: [{ fold, epochs: [...] }] })',
      'list the train stage under needs:, or leave history out',
    );
  }
  return folds as FoldHistory[];
}

function requireFolder(inputs: StageInputs, name: string): FolderArtifact {
  const a = inputs[name];
  if (a?.kind !== 'folder')
    fail(
      missingOrWrong(name, a?.kind, 'a folder'),
      `list a stage that outputs the folder ${name} (train) under needs:`,
      'PF_INPUT_MISSING',
    );
  return a;
}

function requireJson(inputs: StageInputs, name: string): JsonValue {
  const a = inputs[name];
  if (a?.kind !== 'json')
    fail(
      missingOrWrong(name, a?.kind, 'a JSON document'),
      `list a stage that outputs ${name} (train) under needs:`,
      'PF_INPUT_MISSING',
    );
  return a.value;
}

function missingOrWrong(name: string, kind: string | undefined, expected: string): string {
  return kind === undefined
    ? `stage ${STAGE} needs an input named ${name}, and none was given`
    : `stage ${STAGE} expected input ${name} to be ${expected}, got ${kind === 'ndarray' ? 'an array' : `a ${kind}`}`;
}

function fail(message: string, hint: string, code: 'PF_STAGE_FAILED' | 'PF_INPUT_MISSING' = 'PF_STAGE_FAILED'): never {
  throw new ParamflowError(code, message, { hint });
}
