import type { Optimizer, Tensor, io } from '@tensorflow/tfjs-core';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import type { OptimizerSpec } from './params.js';

// tfjs-core optimizers, their learning rate set per epoch, and their state saved and
// restored bit for bit so that a resumed run continues exactly where it stopped.

export function makeOptimizer(rt: TfRuntime, spec: OptimizerSpec): Optimizer {
  const t = rt.tf.train;
  if ('adam' in spec) return t.adam(spec.adam.lr, spec.adam.beta1, spec.adam.beta2, spec.adam.epsilon);
  if ('sgd' in spec) return spec.sgd.momentum > 0 ? t.momentum(spec.sgd.lr, spec.sgd.momentum) : t.sgd(spec.sgd.lr);
  return t.rmsprop(spec.rmsprop.lr, spec.rmsprop.decay, spec.rmsprop.momentum, spec.rmsprop.epsilon);
}

/** Sets the rate the next steps use (SGD keeps it in a tensor; Adam and RMSProp read the field each step). */
export function setLearningRate(optimizer: Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

export interface EncodedWeights {
  data: Uint8Array;
  specs: io.WeightsManifestEntry[];
}

export interface OptimizerState {
  /** getWeights(): the iteration count, then the moments, under positional names. */
  weights: EncodedWeights;
  /**
   * Adam's beta1^t and beta2^t (float32 values). Adam updates them by one multiplication
   * per step, but its setWeights() recomputes them with pow(), which differs in the last
   * bits: they are saved and restored as they are.
   */
  adamPowers?: [number, number];
}

interface AdamInternals {
  accBeta1?: Tensor & { assign(t: Tensor): void };
  accBeta2?: Tensor & { assign(t: Tensor): void };
}

/** The optimizer's state (iterations, moments…), to continue a run bit for bit. */
export async function saveOptimizerState(rt: TfRuntime, optimizer: Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  try {
    // Positional names: the variables' own carry process-wide counters.
    const weights = await encodeNamed(
      rt,
      named.map((w, i) => ({ name: `${i}`.padStart(6, '0') + `:${w.name}`, tensor: w.tensor })),
    );
    const adam = optimizer as unknown as AdamInternals;
    const adamPowers =
      adam.accBeta1 && adam.accBeta2
        ? ([adam.accBeta1.dataSync()[0]!, adam.accBeta2.dataSync()[0]!] as [number, number])
        : undefined;
    return adamPowers ? { weights, adamPowers } : { weights };
  } finally {
    // getWeights() makes a fresh scalar for the iteration count; the rest are the optimizer's own.
    named[0]?.tensor.dispose();
  }
}

/** Restores what saveOptimizerState saved, into a fresh optimizer of the same kind and settings. */
export async function restoreOptimizerState(rt: TfRuntime, optimizer: Optimizer, saved: OptimizerState): Promise<void> {
  const map = decode(rt, saved.weights);
  const weights = saved.weights.specs.map((s) => ({
    name: s.name.slice(s.name.indexOf(':') + 1),
    tensor: map[s.name]!,
  }));
  try {
    await optimizer.setWeights(weights);
    const adam = optimizer as unknown as AdamInternals;
    if (saved.adamPowers && adam.accBeta1 && adam.accBeta2) {
      const [b1, b2] = saved.adamPowers;
      rt.tf.tidy(() => {
        adam.accBeta1!.assign(rt.tf.scalar(b1));
        adam.accBeta2!.assign(rt.tf.scalar(b2));
      });
    }
  } finally {
    // setWeights() made variables of its own from them.
    rt.tf.dispose(weights.map((w) => w.tensor));
  }
}

/** Model (or any) weights encoded by name. */
export async function encodeNamed(rt: TfRuntime, named: { name: string; tensor: Tensor }[]): Promise<EncodedWeights> {
  const { data, specs } = await rt.tf.io.encodeWeights(named);
  return { data: new Uint8Array(data), specs };
}

export function decode(rt: TfRuntime, w: EncodedWeights): Record<string, Tensor> {
  const buffer = w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength) as ArrayBuffer;
  return rt.tf.io.decodeWeights(buffer, w.specs);
}
