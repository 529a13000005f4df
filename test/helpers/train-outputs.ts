import type { Tensor } from '@tensorflow/tfjs-core';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { Rng } from '../../src/stage-contract/random.js';
import type { FolderArtifact, JsonArtifact, NdArray, StageResult, TfRuntime } from '../../src/stage-contract/types.js';
import type { FoldHistory } from '../../stages/train/index.js';
import { curveFeatures, foldIndices, takeRows, type Matrix } from '../../src/model/features.js';
import { foldModelFiles, modelFromFiles } from '../../src/model/model-io.js';
import { scaleInputs, scaleTargets, unscaleTargets, type Scalers } from '../../src/model/scalers.js';
import type { CurveData } from './train-context.js';

// Reading train's outputs back the way evaluate does: models from their files, the
// fold's scaler, the fold's validation rows.

export function historyOf(r: StageResult): FoldHistory[] {
  return ((r.outputs.history as JsonArtifact).value as unknown as { folds: FoldHistory[] }).folds;
}

export function scalersOf(r: StageResult): Scalers {
  return (r.outputs.scalers as JsonArtifact).value as unknown as Scalers;
}

/** Every output byte: model files, scalers and history JSON. */
export function outputBytes(r: StageResult): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, bytes] of Object.entries((r.outputs.model as FolderArtifact).files))
    out[`model/${name}`] = Buffer.from(bytes);
  out.scalers = Buffer.from(JSON.stringify((r.outputs.scalers as JsonArtifact).value));
  out.history = Buffer.from(JSON.stringify((r.outputs.history as JsonArtifact).value));
  return out;
}

export interface FoldPrediction {
  /** In the targets' own units. */
  predicted: Matrix;
  truth: Matrix;
  /** In the space the network trains in (standardised targets unless turned off). */
  predictedScaled: Matrix;
  truthScaled: Matrix;
}

/** Fold `fold`'s saved model applied to its validation rows. */
export async function predictValidation(
  rt: TfRuntime,
  r: StageResult,
  data: CurveData,
  fold: number,
): Promise<FoldPrediction> {
  const scaler = scalersOf(r).folds[fold]!;
  const model = await modelFromFiles(rt, foldModelFiles((r.outputs.model as FolderArtifact).files, fold));
  const { validation } = foldIndices(data.folds, fold);
  const x = scaleInputs(scaler, curveFeatures(data.X, data.Y, validation));
  const out = rt.tf.tidy(() => model.predict(rt.tf.tensor2d(x.data, [x.rows, x.cols])) as Tensor);
  const raw = { rows: x.rows, cols: out.shape[1]!, data: (await out.data()) as Float32Array };
  out.dispose();
  model.dispose();
  const truth = takeRows(data.targets, validation);
  return {
    predicted: unscaleTargets(scaler, raw),
    truth,
    predictedScaled: raw,
    truthScaled: scaleTargets(scaler, truth),
  };
}

/** R² of column `c`. */
export function r2(predicted: Matrix, truth: Matrix, c: number): number {
  let mean = 0;
  for (let i = 0; i < truth.rows; i++) mean += truth.data[i * truth.cols + c]! / truth.rows;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < truth.rows; i++) {
    const t = truth.data[i * truth.cols + c]!;
    res += (predicted.data[i * predicted.cols + c]! - t) ** 2;
    tot += (t - mean) ** 2;
  }
  return 1 - res / tot;
}

/** Mean squared error over all values. */
export function mse(predicted: Matrix, truth: Matrix): number {
  let s = 0;
  for (let i = 0; i < truth.data.length; i++) s += (predicted.data[i]! - truth.data[i]!) ** 2;
  return s / truth.data.length;
}

/** Curves whose targets are unrelated to them: a network can only overfit. */
export function noiseData(n: number, points: number, k: number, seed: number): CurveData {
  const rng = new Rng(seed);
  const X = ndarray('float32', [n, points]);
  const Y = ndarray('float32', [n, points]);
  const targets = ndarray('float32', [n, 2]);
  for (let i = 0; i < X.data.length; i++) {
    X.data[i] = rng.normal(0, 1);
    Y.data[i] = rng.normal(0, 1);
  }
  for (let i = 0; i < targets.data.length; i++) targets.data[i] = rng.normal(0, 1);
  const folds = ndarray('int32', [n]);
  for (let i = 0; i < n; i++) folds.data[i] = i % k;
  return { X, Y, targets, folds };
}

/** A copy of `data` with `delta` added to Y of the rows whose fold id is `fold`. */
export function shiftFold(data: CurveData, fold: number, delta: number): CurveData {
  const Y = ndarray('float32', data.Y.shape, Float32Array.from(data.Y.data as Float32Array));
  const p = data.Y.shape[1]!;
  for (let i = 0; i < data.folds.data.length; i++) {
    if (data.folds.data[i] !== fold) continue;
    for (let j = 0; j < p; j++) Y.data[i * p + j]! += delta;
  }
  return { ...data, Y: Y as NdArray };
}
