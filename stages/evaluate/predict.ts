import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import type { NdArray, StageContext, TfRuntime } from '../../src/stage-contract/types.js';
import { foldIndices } from '../../src/model/features.js';
import { foldModelFiles, modelFromFiles } from '../../src/model/model-io.js';
import { unscaleTargets, type FoldScaler } from '../../src/model/scalers.js';
import { scaledRows } from '../../src/model/curve-rows.js';
import { EventLoopTurns } from '../../src/stage-contract/event-loop-turns.js';
import type { EvaluateInputs } from './inputs.js';

/** Which rows each fold's model predicts. */
export interface FoldRows {
  fold: number;
  validation: Int32Array;
}

/**
 * Out-of-fold predictions (N×k float32, targets' units): each dataset predicted by the
 * model of the fold that left it out; holdout datasets (fold −1) get the mean of all
 * fold models' predictions.
 */
export async function predictOutOfFold(
  rt: TfRuntime,
  input: EvaluateInputs,
  batchSize: number,
  ctx: StageContext,
): Promise<{ predictions: NdArray<'float32'>; folds: FoldRows[] }> {
  const { n, k, foldCount } = input;
  const predictions = ndarray('float32', [n, k]);
  const holdout = holdoutRows(input.folds);
  const holdoutSum = new Float64Array(holdout.length * k);
  const folds: FoldRows[] = [];
  const total = foldCount * holdout.length + (n - holdout.length);
  let done = 0;
  for (let fold = 0; fold < foldCount; fold++) {
    const { validation } = foldIndices(input.folds, fold);
    if (validation.length === 0 && !input.measured) {
      throw new ParamflowError(
        'PF_STAGE_FAILED',
        `fold ${fold} has no validation datasets (folds has ${foldCount} folds)`,
        {
          hint: 'fold ids must run 0…k-1 without gaps: use the folds output of split-folds',
        },
      );
    }
    if (!input.measured) folds.push({ fold, validation });
    const model = await modelFromFiles(rt, foldModelFiles(input.model.files, fold));
    try {
      checkModelShape(model, fold, 2 * (input.X.shape[1] ?? 0), k);
      const scaler = input.scalers.folds[fold]!;
      const rows = concatRows(validation, holdout);
      const out = await predictRows(rt, model, scaler, input, rows, batchSize, ctx, (m) =>
        ctx.progress((done += m), total, 'datasets'),
      );
      for (let r = 0; r < validation.length; r++) {
        predictions.data.set(out.subarray(r * k, (r + 1) * k), validation[r]! * k);
      }
      for (let i = 0; i < holdout.length * k; i++) holdoutSum[i]! += out[validation.length * k + i]!;
    } finally {
      model.dispose();
    }
  }
  for (let r = 0; r < holdout.length; r++) {
    for (let c = 0; c < k; c++) predictions.data[holdout[r]! * k + c] = holdoutSum[r * k + c]! / foldCount;
  }
  return { predictions, folds };
}

/** Predictions of one model for `rows`, `batchSize` datasets at a time, back in the targets' units. */
async function predictRows(
  rt: TfRuntime,
  model: LayersModel,
  scaler: FoldScaler,
  input: EvaluateInputs,
  rows: Int32Array,
  batchSize: number,
  ctx: StageContext,
  onBatch: (rows: number) => void,
): Promise<Float32Array> {
  const { k } = input;
  const out = new Float32Array(rows.length * k);
  const turns = new EventLoopTurns(ctx.signal);
  for (let start = 0; start < rows.length; start += batchSize) {
    if (turns.due()) await turns.take();
    const batch = rows.subarray(start, Math.min(rows.length, start + batchSize));
    const features = scaledRows(scaler, input.X, input.Y, batch);
    const y = rt.tf.tidy(() => model.predict(rt.tf.tensor2d(features.data, [features.rows, features.cols])) as Tensor);
    const scaled = (await y.data()) as Float32Array;
    y.dispose();
    out.set(unscaleTargets(scaler, { rows: batch.length, cols: k, data: scaled }).data, start * k);
    onBatch(batch.length);
  }
  return out;
}

function checkModelShape(model: LayersModel, fold: number, features: number, k: number): void {
  const [input] = model.inputs;
  const [output] = model.outputs;
  if (
    model.inputs.length !== 1 ||
    model.outputs.length !== 1 ||
    input?.shape.at(-1) !== features ||
    output?.shape.at(-1) !== k
  ) {
    const shapes = (ts: typeof model.inputs) =>
      ts.map((t) => `[${t.shape.map((d) => d ?? 'batch').join(', ')}]`).join(' and ');
    throw new ParamflowError(
      'PF_STAGE_FAILED',
      `the model of fold ${fold} takes ${shapes(model.inputs)} and gives ${shapes(model.outputs)}, but the data has ${features} inputs per dataset (2 × points) and ${k} targets`,
      { hint: 'train and evaluate must read the same X, Y and targets' },
    );
  }
}

function holdoutRows(folds: NdArray): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < folds.data.length; i++) if (folds.data[i]! < 0) rows.push(i);
  return Int32Array.from(rows);
}

function concatRows(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
