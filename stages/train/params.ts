import type { ParamProblem } from '../../src/stage-contract/types.js';
import type { InputMode } from '../../src/model/scalers.js';

// The validated `with:` of train (schemas/stages/train.schema.json has filled every
// default), and the checks across fields that JSON Schema cannot express.

/** Activations of tfjs-layers 4.22, as written in YAML (the schema's enum lists the same). */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
  'softmax',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Kernel initializers offered (all take a seed, or need none). */
export const INITIALIZERS = [
  'glorot_uniform',
  'glorot_normal',
  'he_uniform',
  'he_normal',
  'lecun_uniform',
  'lecun_normal',
  'truncated_normal',
  'random_normal',
  'random_uniform',
  'zeros',
  'ones',
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

export interface DenseSpec {
  readonly units: number;
  readonly activation: ActivationName;
  readonly kernel_initializer: InitializerName;
  readonly use_bias: boolean;
  readonly kernel_regularizer?: { readonly l1: number; readonly l2: number };
}
export interface BatchNormSpec {
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
}
export interface DropoutSpec {
  readonly rate: number;
}
export interface ActivationSpec {
  readonly name: ActivationName;
}

/** One YAML layer: exactly one key. */
export type LayerSpec =
  | { readonly dense: DenseSpec }
  | { readonly batch_norm: BatchNormSpec }
  | { readonly dropout: DropoutSpec }
  | { readonly activation: ActivationSpec };
export type LayerKind = 'dense' | 'batch_norm' | 'dropout' | 'activation';

export type OptimizerSpec =
  | { readonly adam: { readonly lr: number; readonly beta1: number; readonly beta2: number; readonly epsilon: number } }
  | { readonly sgd: { readonly lr: number; readonly momentum: number } }
  | {
      readonly rmsprop: {
        readonly lr: number;
        readonly decay: number;
        readonly momentum: number;
        readonly epsilon: number;
      };
    };

export type ScheduleSpec =
  | { readonly step: { readonly every: number; readonly factor: number } }
  | { readonly exponential: { readonly decay: number } }
  | { readonly cosine: { readonly min_lr: number } }
  | { readonly plateau: { readonly patience: number; readonly factor: number; readonly min_lr: number } };

export interface EarlyStoppingSpec {
  readonly patience: number;
  readonly min_delta: number;
  readonly restore_best: boolean;
}

export type LossName = 'mse' | 'mae' | 'huber';

export interface TrainParams {
  readonly layers: readonly LayerSpec[];
  readonly standardize: { readonly inputs: InputMode | boolean; readonly targets: boolean };
  readonly optimizer: OptimizerSpec;
  readonly lr_schedule?: ScheduleSpec;
  readonly batch_size: number;
  readonly epochs: number;
  readonly early_stopping?: EarlyStoppingSpec;
  readonly loss: LossName;
  readonly huber_delta: number;
}

/** The one key of a layer item. */
export function layerKind(layer: LayerSpec): LayerKind {
  return Object.keys(layer)[0] as LayerKind;
}

/** `standardize.inputs` with the boolean shorthands resolved. */
export function inputMode(p: TrainParams): InputMode {
  const v = p.standardize.inputs;
  return v === true ? 'per-feature' : v === false ? 'none' : v;
}

/** The optimizer's starting learning rate. */
export function baseLearningRate(p: TrainParams): number {
  const o = p.optimizer;
  return 'adam' in o ? o.adam.lr : 'sgd' in o ? o.sgd.lr : o.rmsprop.lr;
}

/** Index of the last dense layer (the one whose units must equal the number of targets), or -1. */
export function outputLayerIndex(layers: readonly LayerSpec[]): number {
  for (let i = layers.length - 1; i >= 0; i--) if ('dense' in layers[i]!) return i;
  return -1;
}

/** The output layer must have one unit per target column: the problem when it has not. */
export function outputSizeProblem(p: TrainParams, targets: number): ParamProblem | undefined {
  const i = outputLayerIndex(p.layers);
  const layer = p.layers[i];
  if (!layer || !('dense' in layer) || layer.dense.units === targets) return undefined;
  const after = p.layers.slice(i + 1).map(layerKind);
  return {
    pointer: `/layers/${i}/dense/units`,
    message: `the output layer, layers[${i}] (dense, units: ${layer.dense.units}), must have one unit per target, and \`targets\` has ${targets} columns`,
    hint: `set units: ${targets} in layers[${i}]${after.length > 0 ? ` (the ${after.join(', ')} after it keep the size)` : ''}`,
  };
}

/** Checks the schema cannot express; those that need the inputs' shapes are in outputSizeProblem. */
export function checkTrainParams(p: TrainParams): ParamProblem[] {
  const problems: ParamProblem[] = [];
  if (!Array.isArray(p.layers)) return problems;
  if (p.layers.length > 0 && outputLayerIndex(p.layers) < 0) {
    problems.push({
      pointer: '/layers',
      message: 'the model has no dense layer, so nothing maps the inputs to the targets',
      hint: 'add a dense layer with one unit per target, e.g. - dense: { units: 4 } (A, B, C, D)',
    });
  }
  const schedule = p.lr_schedule;
  const minLr =
    schedule && 'cosine' in schedule
      ? schedule.cosine.min_lr
      : schedule && 'plateau' in schedule
        ? schedule.plateau.min_lr
        : undefined;
  const lr = typeof p.optimizer === 'object' && p.optimizer !== null ? baseLearningRate(p) : undefined;
  if (minLr !== undefined && lr !== undefined && minLr > lr) {
    const kind = schedule && 'cosine' in schedule ? 'cosine' : 'plateau';
    problems.push({
      pointer: `/lr_schedule/${kind}/min_lr`,
      message: `lr_schedule.${kind}.min_lr (${minLr}) is above the optimizer's lr (${lr}): the schedule would raise the learning rate`,
      hint: `lower min_lr to at most ${lr}, or raise the optimizer's lr`,
    });
  }
  return problems;
}
