import type { KernelConfig, NamedTensorMap, Tensor, TensorInfo, Variable } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { asCpu, f32 } from './cpu-data.js';
import { NATIVE } from './names.js';

// tfjs's Adam takes a dozen elementwise kernels per weight per step, each allocating a
// full-size array (with M2's 1.16M weights that was most of an epoch). On the
// native backend, one kernel does the step in a single pass with the same float32 operations
// in the same order, so the numbers are those the dozen kernels would give. The optimizer's
// state stays tfjs's own (accumulatedFirstMoment/SecondMoment, accBeta1/2 variables,
// assigned as tfjs assigns them): saving, restoring and checkpoints see no difference.

export const ADAM_KERNEL = 'ParamflowAdam';
const PATCHED = Symbol.for('paramflow.nativeAdam');

type Tf = typeof import('@tensorflow/tfjs-core');

/** The fields of tfjs's AdamOptimizer the fused step reads and writes (public in JS). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: { originalName: string; variable: Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: Variable }[];
  incrementIterations(): void;
}

export function adamKernel(addon: NativeAddon): KernelConfig {
  return {
    kernelName: ADAM_KERNEL,
    backendName: NATIVE,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = asCpu(backend);
      const [value, m, v, grad] = (['value', 'm', 'v', 'grad'] as const).map((k) => f32(cpu, inputs[k]));
      if (!value || !m || !v || !grad) throw new Error(`${ADAM_KERNEL}: float32 inputs expected`);
      const a = attrs as Record<string, number>;
      const out = [
        new Float32Array(value.length),
        new Float32Array(value.length),
        new Float32Array(value.length),
      ] as const;
      addon.adam(
        value,
        m,
        v,
        grad,
        out[0],
        out[1],
        out[2],
        a.beta1!,
        a.beta2!,
        a.oneMinusAccBeta1!,
        a.oneMinusAccBeta2!,
        a.epsilon!,
        a.lr!,
      );
      const shape = [...inputs.value!.shape];
      return out.map((o) => cpu.makeTensorInfo(shape, 'float32', o)) as TensorInfo[];
    },
  };
}

/** Makes tfjs's AdamOptimizer take its steps through {@link ADAM_KERNEL} while the native backend is active. Idempotent. */
export function patchAdam(tf: Tf): void {
  const proto = tf.AdamOptimizer.prototype as unknown as Record<string | symbol, unknown>;
  if (proto[PATCHED]) return;
  const original = proto.applyGradients as (
    this: AdamState,
    g: NamedTensorMap | { name: string; tensor: Tensor }[],
  ) => void;
  proto.applyGradients = function (this: AdamState, grads: NamedTensorMap | { name: string; tensor: Tensor }[]) {
    const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
    const variables = tf.engine().registeredVariables;
    if (tf.getBackend() !== NATIVE || !names.every((n) => variables[n]?.dtype === 'float32'))
      return original.call(this, grads);
    tf.tidy(() => {
      // Scalars as tfjs computes them: float32 tensors 1 − accBeta.
      const c1 = tf.sub(1, this.accBeta1).dataSync()[0]!;
      const c2 = tf.sub(1, this.accBeta2).dataSync()[0]!;
      names.forEach((name, i) => {
        const value = variables[name]!;
        this.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        this.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const grad = Array.isArray(grads) ? grads[i]!.tensor : grads[name];
        if (grad == null) return;
        const m = this.accumulatedFirstMoment[i]!.variable;
        const v = this.accumulatedSecondMoment[i]!.variable;
        const attrs = {
          beta1: this.beta1,
          beta2: this.beta2,
          oneMinusAccBeta1: c1,
          oneMinusAccBeta2: c2,
          epsilon: this.epsilon,
          lr: this.learningRate,
        };
        const [newValue, newM, newV] = tf.engine().runKernel(ADAM_KERNEL, { value, m, v, grad }, attrs) as Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  };
  proto[PATCHED] = true;
}
