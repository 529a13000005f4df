import { ACTIVATION, MAX_LAYERS } from '../../src/backend/native/boundary.js';
import { fusedEnabled } from '../../src/backend/native/fused-switch.js';
import type { ActivationName, TrainParams } from './params.js';

// Which trainer a train stage takes is decided here, light enough for planning to ask (the
// key records it) without loading TensorFlow.js or the trainer itself (fused.ts).

/** Activations the fused trainer computes: native/boundary.json's activation codes. */
export const ACTIVATIONS: Partial<Record<ActivationName, number>> = ACTIVATION;

/** Why the fused trainer cannot train this model here (the tfjs-layers path will), or undefined. */
export function fusedProblem(
  params: TrainParams,
  backend: string,
  env: NodeJS.ProcessEnv = process.env,
  tfjsVersion = VERIFIED_TFJS,
): string | undefined {
  if (!fusedEnabled(env)) return 'PARAMFLOW_FUSED=0';
  if (backend !== 'native') return `the fused trainer runs on the native backend only (this is ${backend})`;
  if (!tfjsVersion.startsWith(`${VERIFIED_TFJS}.`) && tfjsVersion !== VERIFIED_TFJS) {
    return `tfjs ${tfjsVersion}: the fused trainer works on tfjs ${VERIFIED_TFJS}'s variables and optimizer state, checked against that version only`;
  }
  if (params.layers.length > MAX_LAYERS) return `more than ${MAX_LAYERS} layers`;
  for (const [i, spec] of params.layers.entries()) {
    const act = 'dense' in spec ? spec.dense.activation : 'activation' in spec ? spec.activation.name : undefined;
    if (act !== undefined && ACTIVATIONS[act] === undefined)
      return `layers[${i}] uses activation ${act}, outside the fused subset (${Object.keys(ACTIVATIONS).join(', ')})`;
  }
  return undefined;
}

/**
 * The tfjs minor whose internals (the cpu backend's data map, the optimizers' state fields)
 * the fused step reads and writes; package.json pins tfjs to it (~4.22.0), and any other
 * version trains with tfjs-layers, saying why.
 */
export const VERIFIED_TFJS = '4.22';

/** The trainer's fact in the train stage's key: the fused trainer's bits differ from tfjs-layers'. */
export const FUSED_TRAINER = 'fused-1';
