import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import { ACTIVATION_IDS, INITIALIZER_CLASSES, LAYER_TABLE, layerConfig } from '../../stages/train/layers.js';
import { ACTIVATIONS, checkTrainParams, INITIALIZERS, type TrainParams } from '../../stages/train/params.js';
import { afterEpoch, initialPlateau, scheduledLearningRate } from '../../stages/train/schedule.js';
import { compileStageSchema, validateWith } from '../helpers/stage-schema.js';
import { trainParams } from '../helpers/train-context.js';

// Everything here runs without TensorFlow: validation never loads it.

const schemaFile = fileURLToPath(new URL('../../schemas/stages/train.schema.json', import.meta.url));
const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
const validate = compileStageSchema('train');
const dense4 = { dense: { units: 4 } };

describe('train schema', () => {
  it('fills every default of a minimal with:', () => {
    const r = validateWith(validate, { layers: [{ dense: { units: 64, activation: 'relu' } }, dense4] });
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({
      layers: [
        { dense: { units: 64, activation: 'relu', kernel_initializer: 'glorot_uniform', use_bias: true } },
        { dense: { units: 4, activation: 'linear', kernel_initializer: 'glorot_uniform', use_bias: true } },
      ],
      standardize: { inputs: 'per-feature', targets: true },
      optimizer: { adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
      batch_size: 32,
      epochs: 100,
      loss: 'mse',
      huber_delta: 1,
    });
  });

  it('fills defaults inside the options given', () => {
    const r = validateWith(validate, {
      layers: [
        { batch_norm: {} },
        { dense: { units: 4, kernel_regularizer: { l2: 0.01 } } },
        { batch_norm: { momentum: 0.9 } },
      ],
      optimizer: { sgd: {} },
      early_stopping: { patience: 5 },
      lr_schedule: { cosine: {} },
      standardize: { inputs: true },
    }).value as TrainParams;
    expect(r.layers[0]).toEqual({ batch_norm: { momentum: 0.99, epsilon: 0.001, center: true, scale: true } });
    expect(r.layers[1]).toMatchObject({ dense: { kernel_regularizer: { l1: 0, l2: 0.01 } } });
    expect(r.layers[2]).toEqual({ batch_norm: { momentum: 0.9, epsilon: 0.001, center: true, scale: true } });
    expect(r.optimizer).toEqual({ sgd: { lr: 0.01, momentum: 0 } });
    expect(r.early_stopping).toEqual({ patience: 5, min_delta: 0, restore_best: true });
    expect(r.lr_schedule).toEqual({ cosine: { min_lr: 0 } });
    expect(r.standardize).toEqual({ inputs: true, targets: true });
  });

  it.each([
    ['no layers', { layers: [] }, '/layers'],
    ['units: 0', { layers: [{ dense: { units: 0 } }] }, '/layers/0/dense/units'],
    ['fractional units', { layers: [{ dense: { units: 2.5 } }] }, '/layers/0/dense/units'],
    ["activation 'relu7'", { layers: [{ dense: { units: 4, activation: 'relu7' } }] }, '/layers/0/dense/activation'],
    [
      "camelCase 'hardSigmoid'",
      { layers: [dense4, { activation: { name: 'hardSigmoid' } }] },
      '/layers/1/activation/name',
    ],
    ['two keys in a layer', { layers: [{ dense: { units: 4 }, dropout: { rate: 0.1 } }] }, '/layers/0'],
    ['an empty layer', { layers: [{}] }, '/layers/0'],
    ['an unknown layer', { layers: [{ conv1d: { filters: 3 } }] }, '/layers/0'],
    ['dropout rate 1', { layers: [dense4, { dropout: { rate: 1 } }] }, '/layers/1/dropout/rate'],
    ['an unknown dense option', { layers: [{ dense: { units: 4, kernelInitializer: 'zeros' } }] }, '/layers/0/dense'],
    ['batch_norm epsilon 0', { layers: [dense4, { batch_norm: { epsilon: 0 } }] }, '/layers/1/batch_norm/epsilon'],
    [
      'batch_norm momentum 1.5',
      { layers: [dense4, { batch_norm: { momentum: 1.5 } }] },
      '/layers/1/batch_norm/momentum',
    ],
    [
      'a negative l2',
      { layers: [{ dense: { units: 4, kernel_regularizer: { l2: -1 } } }] },
      '/layers/0/dense/kernel_regularizer/l2',
    ],
    ["standardize.inputs 'yes'", { layers: [dense4], standardize: { inputs: 'yes' } }, '/standardize/inputs'],
    ['two optimizers', { layers: [dense4], optimizer: { adam: {}, sgd: {} } }, '/optimizer'],
    ['no optimizer key', { layers: [dense4], optimizer: {} }, '/optimizer'],
    ['lr 0', { layers: [dense4], optimizer: { adam: { lr: 0 } } }, '/optimizer/adam/lr'],
    [
      'two schedules',
      { layers: [dense4], lr_schedule: { step: { every: 2, factor: 0.5 }, cosine: {} } },
      '/lr_schedule',
    ],
    ['step factor 0', { layers: [dense4], lr_schedule: { step: { every: 2, factor: 0 } } }, '/lr_schedule/step/factor'],
    [
      'plateau factor 1',
      { layers: [dense4], lr_schedule: { plateau: { patience: 2, factor: 1 } } },
      '/lr_schedule/plateau/factor',
    ],
    ['batch_size 0', { layers: [dense4], batch_size: 0 }, '/batch_size'],
    ['epochs 100001', { layers: [dense4], epochs: 100001 }, '/epochs'],
    ['patience 0', { layers: [dense4], early_stopping: { patience: 0 } }, '/early_stopping/patience'],
    ["loss 'huber_loss'", { layers: [dense4], loss: 'huber_loss' }, '/loss'],
    ['an unknown key', { layers: [dense4], shuffle: false }, ''],
  ])('refuses %s', (_name, value, pointer) => {
    expect(validateWith(validate, value).ok).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain(pointer);
  });

  it('lists exactly the activations and initializers the mapping table knows', () => {
    const layerItem = (schema.properties as any).layers.items.properties;
    expect(layerItem.dense.properties.activation.enum).toEqual([...ACTIVATIONS]);
    expect(layerItem.activation.properties.name.enum).toEqual([...ACTIVATIONS]);
    expect(Object.keys(ACTIVATION_IDS).sort()).toEqual([...ACTIVATIONS].sort());
    expect(layerItem.dense.properties.kernel_initializer.enum).toEqual([...INITIALIZERS]);
    expect(Object.keys(INITIALIZER_CLASSES).sort()).toEqual([...INITIALIZERS].sort());
    expect(Object.keys(layerItem).sort()).toEqual(Object.keys(LAYER_TABLE).sort());
    for (const [kind, rule] of Object.entries(LAYER_TABLE))
      expect(Object.keys(layerItem[kind].properties).sort()).toEqual(Object.keys(rule.fields).sort());
  });

  it('describes every property, closes every object, and uses no oneOf/anyOf', () => {
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      expect(o.oneOf, path).toBeUndefined();
      expect(o.anyOf, path).toBeUndefined();
      if (o.type === 'object') expect(o.additionalProperties, path).toBe(false);
      if (o.properties) {
        for (const [k, v] of Object.entries(o.properties as Record<string, Record<string, unknown>>))
          expect(typeof v.description, `${path}/${k}`).toBe('string');
      }
      for (const [k, v] of Object.entries(o)) if (k !== 'default' && k !== 'enum') walk(v, `${path}/${k}`);
    };
    walk(schema, '');
  });

  it('accepts the train stage of every shipped pipeline', () => {
    const dir = fileURLToPath(new URL('../../pipelines/', import.meta.url));
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const text = readFileSync(`${dir}${f}`, 'utf8');
      if (!/uses: train/.test(text)) continue;
      const doc = (yamlParse(text) as { stages: Record<string, { uses: string; with?: unknown }> }).stages;
      for (const s of Object.values(doc).filter((st) => st.uses === 'train'))
        expect(validateWith(validate, s.with ?? {}).ok, f).toBe(true);
    }
  });
});

describe('layer mapping table (YAML → tfjs-layers config)', () => {
  it('maps every dense field from snake_case to camelCase', () => {
    const p = trainParams({
      layers: [
        {
          dense: {
            units: 8,
            activation: 'hard_sigmoid',
            kernel_initializer: 'lecun_normal',
            use_bias: false,
            kernel_regularizer: { l1: 0.1, l2: 0.2 },
          },
        },
      ],
    });
    expect(layerConfig(p.layers[0]!, 0, 77)).toEqual({
      kind: 'dense',
      factory: 'dense',
      className: 'Dense',
      args: {
        name: 'layer_0_dense',
        units: 8,
        activation: 'hardSigmoid',
        kernelInitializer: { className: 'LeCunNormal', config: { seed: 77 } },
        useBias: false,
        kernelRegularizer: { className: 'L1L2', config: { l1: 0.1, l2: 0.2 } },
      },
    });
  });

  it('maps batch_norm, dropout (with its seed) and activation layers', () => {
    const p = trainParams({
      layers: [
        dense4,
        { batch_norm: { center: false } },
        { dropout: { rate: 0.25 } },
        { activation: { name: 'gelu_new' } },
      ],
    });
    expect(layerConfig(p.layers[1]!, 1, 5).args).toEqual({
      name: 'layer_1_batch_norm',
      momentum: 0.99,
      epsilon: 0.001,
      center: false,
      scale: true,
    });
    expect(layerConfig(p.layers[1]!, 1, 5).className).toBe('BatchNormalization');
    expect(layerConfig(p.layers[2]!, 2, 5).args).toEqual({ name: 'layer_2_dropout', rate: 0.25, seed: 5 });
    expect(layerConfig(p.layers[3]!, 3, 5).args).toEqual({ name: 'layer_3_activation', activation: 'gelu_new' });
  });

  it('gives unseeded initializers no seed', () => {
    const p = trainParams({ layers: [{ dense: { units: 2, kernel_initializer: 'zeros' } }] });
    expect(layerConfig(p.layers[0]!, 0, 9).args.kernelInitializer).toEqual({ className: 'Zeros', config: {} });
  });
});

describe('checkTrainParams', () => {
  it('accepts batch_norm after the output layer, and dropout last', () => {
    expect(
      checkTrainParams(
        trainParams({ layers: [{ dense: { units: 64, activation: 'relu' } }, dense4, { batch_norm: {} }] }),
      ),
    ).toEqual([]);
    expect(checkTrainParams(trainParams({ layers: [dense4, { dropout: { rate: 0.2 } }] }))).toEqual([]);
  });

  it('refuses a model without a dense layer, at /layers', () => {
    const problems = checkTrainParams(trainParams({ layers: [{ batch_norm: {} }, { activation: { name: 'relu' } }] }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ pointer: '/layers', message: expect.stringMatching(/no dense layer/) });
    expect(problems[0]!.hint).toMatch(/dense: \{ units/);
  });

  it('refuses a schedule floor above the learning rate', () => {
    const problems = checkTrainParams(
      trainParams({ layers: [dense4], optimizer: { adam: { lr: 0.001 } }, lr_schedule: { cosine: { min_lr: 0.01 } } }),
    );
    expect(problems.map((p) => p.pointer)).toEqual(['/lr_schedule/cosine/min_lr']);
    expect(
      checkTrainParams(
        trainParams({ layers: [dense4], lr_schedule: { plateau: { patience: 2, factor: 0.5, min_lr: 1 } } }),
      )[0]?.pointer,
    ).toBe('/lr_schedule/plateau/min_lr');
  });
});

describe('learning-rate schedules', () => {
  const lrs = (schedule: TrainParams['lr_schedule'], epochs: number): number[] =>
    Array.from({ length: epochs }, (_, i) => scheduledLearningRate(schedule, 0.1, i + 1, epochs, 0.1));

  it('step, exponential and cosine follow their formulas, starting at lr', () => {
    expect(lrs({ step: { every: 2, factor: 0.5 } }, 5)).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    const exp = lrs({ exponential: { decay: 0.9 } }, 4);
    [0.1, 0.09, 0.081, 0.0729].forEach((v, i) => expect(exp[i]).toBeCloseTo(v, 12));
    const cos = lrs({ cosine: { min_lr: 0.01 } }, 5);
    expect(cos[0]).toBeCloseTo(0.1, 12);
    expect(cos[2]).toBeCloseTo(0.055, 12);
    expect(cos[4]).toBeCloseTo(0.01, 12);
    expect(lrs(undefined, 3)).toEqual([0.1, 0.1, 0.1]);
  });

  it('plateau cuts lr after patience epochs without a new best, down to min_lr', () => {
    const schedule = { plateau: { patience: 2, factor: 0.5, min_lr: 0.03 } };
    const state = initialPlateau();
    let lr = 0.1;
    const seen: number[] = [];
    for (const v of [1, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.86, 0.9, 0.9]) {
      lr = afterEpoch(schedule, state, v, lr);
      seen.push(lr);
    }
    expect(seen).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03]);
  });
});
