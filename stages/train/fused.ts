import type { Optimizer, Variable } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { loadAddon, type NativeAddon } from '../../src/backend/native/addon.js';
import { addKernelTime, kernelProfileWanted } from '../../src/backend/profile.js';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import type { Matrix } from '../../src/model/features.js';
import { gatherMatrix, matrixRows, type Rows } from '../../src/model/curve-rows.js';
import { layerName } from './layers.js';
import { HYPER, HYPER_LENGTH, LAYER, LOSS, OPTIMIZER, STRIDE } from '../../src/backend/native/boundary.js';
import { ACTIVATIONS } from './fused-problem.js';
import { layerKind, type TrainParams } from './params.js';

// The fused trainer: on the native backend, one addon call per batch does the
// forward pass, the loss, the backward pass and the optimizer's update (native/mlp.c) on the
// Float32Arrays tfjs holds for the model's variables and the optimizer's own state variables.
// The model stays a tfjs LayersModel (initialization, validation, saving unchanged) and the
// optimizer a tfjs Optimizer whose state getWeights()/setWeights() save and restore as before,
// so checkpoints and resume work unchanged. The arrays are looked up at every step: anything
// that assigns a variable (resume, restore-best) gives it a new array.

/** The part of tfjs's optimizers the fused step reads and writes (public fields in JS). */
interface OptimizerFields {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  accBeta1?: Variable;
  accBeta2?: Variable;
  accumulatedFirstMoment?: Slot[];
  accumulatedSecondMoment?: Slot[];
  accumulations?: Slot[];
  accumulatedMeanSquares?: Slot[];
  accumulatedMoments?: Slot[];
  incrementIterations(): void;
}
interface Slot {
  originalName: string;
  variable: Variable;
}
interface LayerVariableLike {
  read(): Variable;
}
interface CpuData {
  data: { get(dataId: object): { values: unknown } };
  /** Tensors sharing the data (tfjs's cpu backend). */
  refCount(dataId: object): number;
}

/** The fused step's name in `run --profile` (beside tfjs's kernels). */
export const FUSED_STEP = 'FusedTrainStep (paramflow)';

export class FusedTrainer {
  private readonly addon: NativeAddon;
  private readonly plan: object;
  /** The model's variables in the order mlpStep takes them. */
  private readonly variables: LayerVariableLike[];
  /** Trainable ones, in model.trainableWeights order (the optimizer's slot order). */
  private readonly trainable: Variable[];
  private readonly opt: OptimizerFields;
  private readonly kind: number;
  private readonly hyper = new Float64Array(HYPER_LENGTH);
  private readonly seeds: Float64Array;
  private readonly outputs: number;
  /** `run --profile`: each step is counted as one kernel, FUSED_STEP. */
  private readonly profiled = kernelProfileWanted();
  /** The most rows one step (or one chunk of a prediction) takes. */
  readonly maxRows: number;
  private readonly batch?: { x: Float32Array; t: Float32Array; order: Int32Array };
  private readonly data: { x: Rows; t: Matrix };

  constructor(
    private readonly rt: TfRuntime,
    model: LayersModel,
    optimizer: Optimizer,
    private readonly params: TrainParams,
    data: { x: Rows | Matrix; t: Matrix },
  ) {
    // A matrix in memory (the bench, tests) is rows whose batches the addon gathers itself.
    this.data = { x: 'gather' in data.x ? data.x : matrixRows(data.x), t: data.t };
    this.addon = loadAddon();
    const desc = new Float64Array(params.layers.length * STRIDE);
    this.variables = [];
    params.layers.forEach((spec, i) => {
      const d = desc.subarray(i * STRIDE, (i + 1) * STRIDE);
      const kind = layerKind(spec);
      d[0] = LAYER[kind];
      const layer = model.getLayer(layerName(i, kind)) as unknown as Record<string, LayerVariableLike>;
      if ('dense' in spec) {
        const s = spec.dense;
        d.set(
          [
            s.units,
            ACTIVATIONS[s.activation]!,
            s.use_bias ? 1 : 0,
            s.kernel_regularizer?.l1 ?? 0,
            s.kernel_regularizer?.l2 ?? 0,
          ],
          1,
        );
        this.variables.push(layer.kernel!, ...(s.use_bias ? [layer.bias!] : []));
      } else if ('batch_norm' in spec) {
        const s = spec.batch_norm;
        d.set([s.momentum, s.epsilon, s.center ? 1 : 0, s.scale ? 1 : 0], 4);
        this.variables.push(
          ...(s.scale ? [layer.gamma!] : []),
          ...(s.center ? [layer.beta!] : []),
          layer.movingMean!,
          layer.movingVariance!,
        );
      } else if ('dropout' in spec) {
        d[4] = spec.dropout.rate;
      } else {
        d[2] = ACTIVATIONS[spec.activation.name]!;
      }
    });
    this.trainable = model.trainableWeights.map((w) => w.read() as Variable);
    const mine = this.variables.map((v) => v.read()).filter((v) => v.trainable);
    if (mine.length !== this.trainable.length || mine.some((v, i) => v !== this.trainable[i])) {
      throw new Error("fused trainer: the model's trainable weights are not in layer order (a bug: report it)");
    }
    this.maxRows = Math.min(params.batch_size, data.x.rows);
    this.plan = this.addon.mlpCreate(desc, data.x.cols, this.maxRows);
    if (!this.data.x.matrix) {
      // Rows read from files: each batch is gathered here, then stepped on in order.
      this.batch = {
        x: new Float32Array(this.maxRows * data.x.cols),
        t: new Float32Array(this.maxRows * data.t.cols),
        order: Int32Array.from({ length: this.maxRows }, (_, i) => i),
      };
    }
    this.seeds = new Float64Array(params.layers.filter((l) => 'dropout' in l).length);
    this.outputs = data.t.cols;
    this.opt = optimizer as unknown as OptimizerFields;
    const o = params.optimizer;
    this.kind =
      'adam' in o
        ? OPTIMIZER.adam
        : 'rmsprop' in o
          ? OPTIMIZER.rmsprop
          : o.sgd.momentum > 0
            ? OPTIMIZER.momentum
            : OPTIMIZER.sgd;
  }

  /** One step on rows order[start .. start + rows); `seeds`: one per dropout layer. Returns the batch's loss. */
  step(order: Int32Array, start: number, rows: number, seeds: readonly number[]): number {
    const params = this.variables.map((v) => this.ownArray(v.read()));
    const state = this.optimizerArrays().map((v) => this.ownArray(v));
    this.setHyper();
    this.seeds.set(seeds);
    const t0 = this.profiled ? performance.now() : 0;
    let [x, t, o, from] = [this.data.x.matrix?.data, this.data.t.data, order, start];
    if (this.batch) {
      const { cols } = this.data.x;
      this.data.x.gather(order, start, rows, this.batch.x);
      gatherMatrix(this.data.t, order, start, rows, this.batch.t);
      [x, t, o, from] = [
        this.batch.x.subarray(0, rows * cols),
        this.batch.t.subarray(0, rows * this.outputs),
        this.batch.order,
        0,
      ];
    }
    const loss = this.addon.mlpStep(this.plan, x!, t, o, from, rows, params, state, this.hyper, this.seeds);
    if (this.profiled) addKernelTime(FUSED_STEP, performance.now() - t0);
    if (this.kind === OPTIMIZER.adam) {
      // tfjs: accBeta.assign(mul(accBeta, beta)), a float32 product.
      const o = this.opt;
      for (const [acc, beta] of [
        [o.accBeta1!, o.beta1!],
        [o.accBeta2!, o.beta2!],
      ] as const) {
        const a = this.ownArray(acc);
        a[0] = Math.fround(a[0]! * Math.fround(beta));
      }
    }
    this.opt.incrementIterations();
    return Math.fround(loss);
  }

  /**
   * The model's predictions for the rows of `x` in inference mode, computed by the addon with
   * the bits tfjs's native backend gives (native/mlp.c), or undefined where it does not cover
   * the model: the caller then predicts with tfjs.
   */
  predict(x: Matrix): Float32Array | undefined {
    const out = new Float32Array(x.rows * this.outputs);
    const params = this.variables.map((v) => this.ownArray(v.read()));
    return this.addon.mlpPredict(this.plan, x.data, x.rows, params, out) ? out : undefined;
  }

  /**
   * The variable's array, to be written in place. A variable assigned from a tensor that is
   * still alive shares that tensor's array (tfjs tensors share data by reference): it gets a
   * copy of its own first, so that writing never changes another tensor.
   */
  private ownArray(v: Variable): Float32Array {
    const tf = this.rt.tf;
    const backend = tf.backend() as unknown as CpuData;
    if (backend.refCount(v.dataId) > 1) {
      const copy = tf.tensor(v.dataSync().slice(), v.shape, 'float32');
      v.assign(copy);
      copy.dispose();
    }
    return backend.data.get(v.dataId).values as Float32Array;
  }

  private setHyper(): void {
    const h = this.hyper;
    const p = this.params;
    const o = p.optimizer;
    h.fill(0);
    h[HYPER.optimizer] = this.kind;
    h[HYPER.lr] = this.opt.learningRate;
    if ('adam' in o) {
      const data = (this.rt.tf.backend() as unknown as CpuData).data;
      const a1 = (data.get(this.opt.accBeta1!.dataId).values as Float32Array)[0]!;
      const a2 = (data.get(this.opt.accBeta2!.dataId).values as Float32Array)[0]!;
      // tfjs: sub(1, accBeta), a float32 difference.
      [h[HYPER.a], h[HYPER.b], h[HYPER.c], h[HYPER.d], h[HYPER.e]] = [
        o.adam.beta1,
        o.adam.beta2,
        o.adam.epsilon,
        Math.fround(1 - a1),
        Math.fround(1 - a2),
      ];
    } else if ('rmsprop' in o) {
      [h[HYPER.a], h[HYPER.b], h[HYPER.c]] = [o.rmsprop.decay, o.rmsprop.momentum, o.rmsprop.epsilon];
    } else {
      h[HYPER.a] = o.sgd.momentum;
    }
    h[HYPER.loss] = LOSS[p.loss];
    h[HYPER.huber_delta] = p.huber_delta;
  }

  /**
   * The optimizer's state variables, per trainable weight in order (adam: m, v; momentum: the
   * accumulation; rmsprop: mean square, moment), created as tfjs creates them on its first step
   * (same names, zeros) when they are not there yet.
   */
  private optimizerArrays(): Variable[] {
    const tf = this.rt.tf;
    const o = this.opt;
    const lists: [keyof OptimizerFields, string][] =
      this.kind === OPTIMIZER.adam
        ? [
            ['accumulatedFirstMoment', 'm'],
            ['accumulatedSecondMoment', 'v'],
          ]
        : this.kind === OPTIMIZER.momentum
          ? [['accumulations', 'momentum']]
          : this.kind === OPTIMIZER.rmsprop
            ? [
                ['accumulatedMeanSquares', 'rms'],
                ['accumulatedMoments', 'momentum'],
              ]
            : [];
    const out: Variable[] = [];
    this.trainable.forEach((value, i) => {
      for (const [field, suffix] of lists) {
        const slots = o[field] as Slot[];
        slots[i] ??= {
          originalName: `${value.name}/${suffix}`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        out.push(slots[i]!.variable);
      }
    });
    return out;
  }
}
