import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel, layers as layersNs } from '@tensorflow/tfjs-layers';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import { layerKind, type ActivationName, type InitializerName, type LayerKind, type LayerSpec } from './params.js';

// YAML layers → tfjs-layers configs, by ONE table (STYLE.md "Layers are config objects"):
// each snake_case field names its camelCase tfjs key and, where the values differ,
// how to convert. The result is plain JSON that tfjs-layers' own constructors take
// (initializers and regularizers as {className, config}), so a built model
// round-trips through getConfig()/fromConfig.

type Factory = 'dense' | 'batchNormalization' | 'dropout' | 'activation';
type Json = string | number | boolean | null | { [k: string]: Json };

interface FieldRule {
  /** The tfjs-layers constructor key. */
  readonly key: string;
  /** How the YAML value becomes the tfjs value (identity when absent). */
  readonly convert?: (value: never, seed: number) => Json;
}

interface LayerRule {
  readonly factory: Factory;
  /** tfjs-layers class name, as in model.json. */
  readonly className: string;
  readonly fields: Readonly<Record<string, FieldRule>>;
  /** The layer draws random numbers: it gets a seed derived from the stage seed, the fold and its index. */
  readonly seeded?: boolean;
}

/** snake_case YAML activation → tfjs-layers identifier (they differ only for hard_sigmoid). */
export const ACTIVATION_IDS: Readonly<Record<ActivationName, string>> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  selu: 'selu',
  sigmoid: 'sigmoid',
  hard_sigmoid: 'hardSigmoid',
  tanh: 'tanh',
  softplus: 'softplus',
  softsign: 'softsign',
  swish: 'swish',
  mish: 'mish',
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  softmax: 'softmax',
};

/** snake_case YAML initializer → tfjs-layers class; seeded ones get `{ seed }`. */
export const INITIALIZER_CLASSES: Readonly<Record<InitializerName, { className: string; seeded: boolean }>> = {
  glorot_uniform: { className: 'GlorotUniform', seeded: true },
  glorot_normal: { className: 'GlorotNormal', seeded: true },
  he_uniform: { className: 'HeUniform', seeded: true },
  he_normal: { className: 'HeNormal', seeded: true },
  lecun_uniform: { className: 'LeCunUniform', seeded: true },
  lecun_normal: { className: 'LeCunNormal', seeded: true },
  truncated_normal: { className: 'TruncatedNormal', seeded: true },
  random_normal: { className: 'RandomNormal', seeded: true },
  random_uniform: { className: 'RandomUniform', seeded: true },
  zeros: { className: 'Zeros', seeded: false },
  ones: { className: 'Ones', seeded: false },
};

const activation = (v: ActivationName): Json => ACTIVATION_IDS[v];

export const LAYER_TABLE: Readonly<Record<LayerKind, LayerRule>> = {
  dense: {
    factory: 'dense',
    className: 'Dense',
    fields: {
      units: { key: 'units' },
      activation: { key: 'activation', convert: activation },
      kernel_initializer: {
        key: 'kernelInitializer',
        convert: (v: InitializerName, seed) => {
          const c = INITIALIZER_CLASSES[v];
          const config: Record<string, Json> = c.seeded ? { seed } : {};
          return { className: c.className, config };
        },
      },
      use_bias: { key: 'useBias' },
      kernel_regularizer: {
        key: 'kernelRegularizer',
        convert: (v: { l1: number; l2: number }) => ({ className: 'L1L2', config: { l1: v.l1, l2: v.l2 } }),
      },
    },
  },
  batch_norm: {
    factory: 'batchNormalization',
    className: 'BatchNormalization',
    fields: {
      momentum: { key: 'momentum' },
      epsilon: { key: 'epsilon' },
      center: { key: 'center' },
      scale: { key: 'scale' },
    },
  },
  // The seed set here is the layer's base seed; training replaces it batch by batch (see setDropoutSeeds).
  dropout: { factory: 'dropout', className: 'Dropout', fields: { rate: { key: 'rate' } }, seeded: true },
  activation: {
    factory: 'activation',
    className: 'Activation',
    fields: { name: { key: 'activation', convert: activation } },
  },
};

export interface LayerConfig {
  readonly kind: LayerKind;
  readonly factory: Factory;
  readonly className: string;
  readonly args: Record<string, Json>;
}

/** Stable layer name: the same in every run, so model.json is byte-identical (tfjs's default names count globally). */
export function layerName(index: number, kind: LayerKind): string {
  return `layer_${index}_${kind}`;
}

/** The tfjs-layers constructor config of YAML layer `index` (pure: no TensorFlow needed). */
export function layerConfig(layer: LayerSpec, index: number, seed: number): LayerConfig {
  const kind = layerKind(layer);
  const rule = LAYER_TABLE[kind];
  const spec = (layer as unknown as Record<LayerKind, Record<string, unknown>>)[kind];
  const args: Record<string, Json> = { name: layerName(index, kind) };
  for (const [field, value] of Object.entries(spec)) {
    const f = rule.fields[field];
    if (!f) throw new Error(`train: no tfjs mapping for ${kind}.${field} (the schema and LAYER_TABLE disagree)`);
    args[f.key] = f.convert ? f.convert(value as never, seed) : (value as Json);
  }
  if (rule.seeded) args.seed = seed;
  return { kind, factory: rule.factory, className: rule.className, args };
}

type LayersApi = typeof layersNs;
type AnyLayer = ReturnType<LayersApi['dense']>;

/**
 * The fold's network: a Sequential model named `name` over `features` inputs, layer
 * `i` seeded with `seedOf(i)`.
 */
export function buildModel(
  rt: TfRuntime,
  layers: readonly LayerSpec[],
  features: number,
  seedOf: (index: number) => number,
  name: string,
): LayersModel {
  const model = rt.layers.sequential({ name });
  layers.forEach((spec, i) => {
    const c = layerConfig(spec, i, seedOf(i));
    const args = i === 0 ? { ...c.args, inputShape: [features] } : c.args;
    const layer = (rt.layers.layers[c.factory] as (a: unknown) => AnyLayer)(args);
    model.add(layer);
    // After add(): the layer is built and knows its size.
    if (c.kind === 'batch_norm') allowUnlearnedBatchNormParams(rt, layer);
  });
  return model;
}

/**
 * tfjs-layers 4.22's BatchNormalization reads gamma and beta unconditionally while
 * training, so `center: false` or `scale: false` crash there ("Cannot read properties
 * of undefined"), and a null stand-in breaks the gradient tape. Give the missing one a
 * constant stand-in (beta = 0, gamma = 1; not a weight, so never trained or saved),
 * owned by the layer. The config keeps center/scale false, and a loaded model predicts
 * without a stand-in (tfjs's inference path handles their absence).
 */
function allowUnlearnedBatchNormParams(rt: TfRuntime, layer: AnyLayer): void {
  const bn = layer as unknown as {
    center: boolean;
    scale: boolean;
    beta?: unknown;
    gamma?: unknown;
    movingMean: { shape: number[] };
  };
  if (bn.center && bn.scale) return;
  const constants: Tensor[] = [];
  const constant = (value: number): { read: () => Tensor } => {
    const t = rt.tf.fill(bn.movingMean.shape, value);
    constants.push(t);
    return { read: () => t };
  };
  if (!bn.center) bn.beta = constant(0);
  if (!bn.scale) bn.gamma = constant(1);
  const dispose = layer.dispose.bind(layer);
  layer.dispose = () => {
    const r = dispose();
    if (r.refCountAfterDispose === 0) rt.tf.dispose(constants);
    return r;
  };
}

/** The Dropout layers of a built model, by YAML index. */
export function dropoutLayers(
  model: LayersModel,
  layers: readonly LayerSpec[],
): { index: number; layer: { seed?: number } }[] {
  return layers.flatMap((spec, i) =>
    'dropout' in spec
      ? [{ index: i, layer: model.getLayer(layerName(i, 'dropout')) as unknown as { seed?: number } }]
      : [],
  );
}
