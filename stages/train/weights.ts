import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import { decode, encodeNamed, type EncodedWeights } from './optimizer.js';

/** A model's weights as bytes (for checkpoints and restore-best), by their original names. */
export async function encodeModelWeights(rt: TfRuntime, model: LayersModel): Promise<EncodedWeights> {
  return encodeNamed(
    rt,
    model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })),
  );
}

export async function loadModelWeights(rt: TfRuntime, model: LayersModel, w: EncodedWeights): Promise<void> {
  const map = decode(rt, w);
  try {
    model.loadWeights(map);
  } finally {
    rt.tf.dispose(Object.values(map));
  }
}
