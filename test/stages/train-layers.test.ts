import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import { buildModel } from '../../stages/train/layers.js';
import { createFoldModel } from '../../stages/train/loop.js';
import { modelFromFiles, modelToFiles } from '../../src/model/model-io.js';
import { ACTIVATIONS, INITIALIZERS } from '../../stages/train/params.js';
import { TRAIN_BACKEND, trainParams, trainRuntime } from '../helpers/train-context.js';

// The mapping table against tfjs-layers itself: every value the schema allows builds,
// trains and round-trips on the test backend.

let rt: TfRuntime;
beforeAll(async () => {
  rt = await trainRuntime();
  expect(rt.tf.getBackend()).toBe(TRAIN_BACKEND);
});

async function oneStep(layers: unknown[]): Promise<number> {
  const p = trainParams({ layers, optimizer: { adam: { lr: 0.01 } } });
  const { model, optimizer } = createFoldModel(rt, p, 0, 1, 6);
  const x = rt.tf.tensor2d(
    Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    [4, 6],
  );
  const y = rt.tf.tensor2d(
    Array.from({ length: 8 }, (_, i) => i / 8),
    [4, 2],
  );
  try {
    return (await model.trainOnBatch(x, y)) as number;
  } finally {
    rt.tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }
}

describe('train layers on tfjs-layers', () => {
  it.each([...ACTIVATIONS])('activation %s builds and trains (dense and activation layer)', async (name) => {
    expect(
      Number.isFinite(
        await oneStep([{ dense: { units: 3, activation: name } }, { activation: { name } }, { dense: { units: 2 } }]),
      ),
    ).toBe(true);
  });

  it.each([...INITIALIZERS])('initializer %s builds, the same seed giving the same weights', async (init) => {
    const p = trainParams({ layers: [{ dense: { units: 3, kernel_initializer: init } }] });
    const a = buildModel(rt, p.layers, 5, () => 42, 'a');
    const b = buildModel(rt, p.layers, 5, () => 42, 'b');
    const c = buildModel(rt, p.layers, 5, () => 43, 'c');
    const [wa, wb, wc] = [a, b, c].map((m) => Array.from(m.getWeights()[0]!.dataSync()));
    expect(wa).toEqual(wb);
    if (!['zeros', 'ones'].includes(init)) expect(wa).not.toEqual(wc);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('batch_norm after the output layer, and without center or scale, trains', async () => {
    expect(Number.isFinite(await oneStep([{ dense: { units: 2 } }, { batch_norm: {} }]))).toBe(true);
    expect(Number.isFinite(await oneStep([{ dense: { units: 2 } }, { batch_norm: { center: false } }]))).toBe(true);
    expect(
      Number.isFinite(
        await oneStep([
          { dense: { units: 4 } },
          { batch_norm: { center: false, scale: false } },
          { dense: { units: 2 } },
        ]),
      ),
    ).toBe(true);
  });

  it('a model with batch_norm without center and scale saves, loads and predicts the same, leaking nothing', async () => {
    const before = rt.tf.memory().numTensors;
    const p = trainParams({
      layers: [{ dense: { units: 4 } }, { batch_norm: { center: false, scale: false } }, { dense: { units: 2 } }],
    });
    const { model, optimizer } = createFoldModel(rt, p, 0, 3, 6);
    const x = rt.tf.tensor2d(
      Array.from({ length: 24 }, (_, i) => Math.sin(i)),
      [4, 6],
    );
    const y = rt.tf.zeros([4, 2]);
    await model.trainOnBatch(x, y);
    const loaded = await modelFromFiles(rt, await modelToFiles(rt, model));
    expect(loaded.getLayer('layer_1_batch_norm').getConfig()).toMatchObject({ center: false, scale: false });
    const [a, b] = [model, loaded].map((m) => m.predict(x) as Tensor);
    const want = Array.from(a!.dataSync());
    Array.from(b!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    rt.tf.dispose([x, y, a!, b!]);
    [model, loaded, optimizer].forEach((m) => m.dispose());
    expect(rt.tf.memory().numTensors).toBe(before);
  });

  it('puts the mapped values in the tfjs config, which round-trips through the saved files', async () => {
    const p = trainParams({
      layers: [
        {
          dense: {
            units: 4,
            activation: 'hard_sigmoid',
            kernel_initializer: 'he_normal',
            use_bias: false,
            kernel_regularizer: { l2: 0.5 },
          },
        },
        { batch_norm: { momentum: 0.9, epsilon: 0.01, scale: false } },
        { dropout: { rate: 0.3 } },
        { dense: { units: 2 } },
        { activation: { name: 'softplus' } },
      ],
    });
    const model = buildModel(rt, p.layers, 6, (i) => 100 + i, 'fold_0');
    const config = (model.getConfig() as { layers: { className: string; config: Record<string, any> }[] }).layers;
    expect(config.map((l) => [l.className, l.config.name])).toEqual([
      ['Dense', 'layer_0_dense'],
      ['BatchNormalization', 'layer_1_batch_norm'],
      ['Dropout', 'layer_2_dropout'],
      ['Dense', 'layer_3_dense'],
      ['Activation', 'layer_4_activation'],
    ]);
    expect(config[0]!.config).toMatchObject({
      units: 4,
      activation: 'hardSigmoid',
      useBias: false,
      batchInputShape: [null, 6],
    });
    expect(config[0]!.config.kernelInitializer).toEqual({
      className: 'VarianceScaling',
      config: { scale: 2, mode: 'fanIn', distribution: 'normal', seed: 100 },
    });
    expect(config[0]!.config.kernelRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.5 } });
    expect(config[1]!.config).toMatchObject({ momentum: 0.9, epsilon: 0.01, center: true, scale: false });
    expect(config[2]!.config).toMatchObject({ rate: 0.3, seed: 102 });
    expect(config[4]!.config).toMatchObject({ activation: 'softplus' });

    const loaded = await modelFromFiles(rt, await modelToFiles(rt, model));
    // tfjs reads an absent noiseShape back as null: compare without empty values.
    const json = (m: typeof model): unknown =>
      JSON.parse(JSON.stringify(m.getConfig(), (_k, v: unknown) => (v === null ? undefined : v)));
    expect(json(loaded)).toEqual(json(model));
    const x = rt.tf.tensor2d(
      Array.from({ length: 18 }, (_, i) => Math.cos(i)),
      [3, 6],
    );
    const [a, b] = [model, loaded].map((m) => m.predict(x) as Tensor);
    expect(Array.from(b!.dataSync())).toEqual(Array.from(a!.dataSync()));
    rt.tf.dispose([x, a!, b!]);
    model.dispose();
    loaded.dispose();
  });

  it('stage modules import TensorFlow for types only (validation never loads it)', () => {
    const dir = fileURLToPath(new URL('../../stages/train/', import.meta.url));
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const lines = readFileSync(`${dir}${f}`, 'utf8')
        .split('\n')
        .filter((l) => /from '@tensorflow\//.test(l) || /import\('@tensorflow\//.test(l));
      for (const l of lines) expect(l, `${f}: ${l}`).toMatch(/^import type |import\('@tensorflow\/[^']+'\)\.[A-Za-z]/);
    }
  });
});
