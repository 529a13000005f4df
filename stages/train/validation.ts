import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Matrix } from '../../src/model/features.js';
import type { Rows } from '../../src/model/curve-rows.js';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import type { FusedTrainer } from './fused.js';
import type { LossName } from './params.js';

// Rows per forward pass when computing val_loss (memory only: results do not depend on it).
const VALIDATION_BATCH = 1024;

/**
 * Mean loss over every validation value, predicting in inference mode (no dropout, BN moving
 * statistics): by the fused trainer's addon where it covers the model (the same predictions,
 * without tfjs's per-call overhead), else by tfjs.
 */
export async function validationLoss(
  rt: TfRuntime,
  model: LayersModel,
  v: { x: Rows; t: Matrix },
  loss: LossName,
  delta: number,
  fused?: FusedTrainer,
): Promise<number> {
  const k = v.t.cols;
  const { rows, cols } = v.x;
  // Rows in memory are predicted all at once by the addon; rows read from files a chunk at a
  // time: a multiple of the addon's own chunk, so the same predictions to the bit.
  const step = v.x.matrix
    ? rows
    : fused
      ? fused.maxRows * Math.ceil(VALIDATION_BATCH / fused.maxRows)
      : VALIDATION_BATCH;
  const buffer = v.x.matrix ? undefined : new Float32Array(Math.min(step, rows) * cols);
  const order = buffer ? Int32Array.from({ length: rows }, (_, i) => i) : undefined;
  const chunk = (start: number, count: number): Matrix => {
    if (v.x.matrix) return { rows: count, cols, data: v.x.matrix.data.subarray(start * cols, (start + count) * cols) };
    v.x.gather(order!, start, count, buffer!);
    return { rows: count, cols, data: buffer!.subarray(0, count * cols) };
  };
  let sum = 0;
  let byTf = !fused;
  for (let start = 0; start < rows;) {
    const count = Math.min(byTf ? VALIDATION_BATCH : step, rows - start);
    const x = chunk(start, count);
    const pred = byTf ? undefined : fused!.predict(x);
    if (!pred && !byTf) {
      byTf = true; // the addon does not cover this model: tfjs predicts, in its own chunks
      continue;
    }
    const values = pred ?? (await tfPredict(rt, model, x));
    for (let i = 0; i < count * k; i++) sum += pointLoss(values[i]! - v.t.data[start * k + i]!, loss, delta);
    start += count;
  }
  return sum / Math.max(1, rows * k);
}

async function tfPredict(rt: TfRuntime, model: LayersModel, x: Matrix): Promise<Float32Array> {
  const out = rt.tf.tidy(() => model.apply(rt.tf.tensor2d(x.data, [x.rows, x.cols]), { training: false }) as Tensor);
  const pred = (await out.data()) as Float32Array;
  out.dispose();
  return pred;
}

/** The loss of one residual, as tfjs computes it (huber: tf.losses.huberLoss). */
export function pointLoss(d: number, loss: LossName, delta: number): number {
  const a = Math.abs(d);
  if (loss === 'mse') return d * d;
  if (loss === 'mae') return a;
  const q = Math.min(a, delta);
  return 0.5 * q * q + delta * (a - q);
}
