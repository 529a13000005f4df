import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Matrix } from '../../src/model/features.js';
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
  v: { x: Matrix; t: Matrix },
  loss: LossName,
  delta: number,
  fused?: FusedTrainer,
): Promise<number> {
  let sum = 0;
  const k = v.t.cols;
  const all = fused?.predict(v.x);
  if (all) {
    for (let i = 0; i < all.length; i++) sum += pointLoss(all[i]! - v.t.data[i]!, loss, delta);
    return sum / Math.max(1, v.x.rows * k);
  }
  for (let start = 0; start < v.x.rows; start += VALIDATION_BATCH) {
    const rows = Math.min(VALIDATION_BATCH, v.x.rows - start);
    const out = rt.tf.tidy(
      () =>
        model.apply(rt.tf.tensor2d(v.x.data.subarray(start * v.x.cols, (start + rows) * v.x.cols), [rows, v.x.cols]), {
          training: false,
        }) as Tensor,
    );
    const pred = (await out.data()) as Float32Array;
    out.dispose();
    for (let i = 0; i < rows * k; i++) sum += pointLoss(pred[i]! - v.t.data[start * k + i]!, loss, delta);
  }
  return sum / Math.max(1, v.x.rows * k);
}

/** The loss of one residual, as tfjs computes it (huber: tf.losses.huberLoss). */
export function pointLoss(d: number, loss: LossName, delta: number): number {
  const a = Math.abs(d);
  if (loss === 'mse') return d * d;
  if (loss === 'mae') return a;
  const q = Math.min(a, delta);
  return 0.5 * q * q + delta * (a - q);
}
