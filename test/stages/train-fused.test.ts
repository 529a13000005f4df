import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/backend/native/addon.js';
import type { StageResult } from '../../src/stage-contract/types.js';
import { loadTensorflow } from '../../src/backend/load.js';
import { matrixRows } from '../../src/model/curve-rows.js';
import { FusedTrainer } from '../../stages/train/fused.js';
import { fusedProblem } from '../../stages/train/fused-problem.js';
import { createFoldModel } from '../../stages/train/loop.js';
import { train } from '../../stages/train/index.js';
import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { decayCurves, TRAIN_BACKEND, trainContext, trainParams, type TrainContext } from '../helpers/train-context.js';

// Which trainer the train stage takes, and why (stages/train/fused.ts).

const small = {
  layers: [
    { dense: { units: 8, activation: 'relu' } },
    { batch_norm: {} },
    { dropout: { rate: 0.1 } },
    { dense: { units: 3 } },
  ],
  batch_size: 16,
  epochs: 2,
};

describe('fusedProblem', () => {
  it('takes the fused trainer for the supported subset on native only, else names the reason', () => {
    expect(fusedProblem(trainParams(small), 'native', {})).toBeUndefined();
    expect(
      fusedProblem(trainParams({ ...small, loss: 'huber', optimizer: { rmsprop: { lr: 0.01 } } }), 'native', {}),
    ).toBeUndefined();
    expect(fusedProblem(trainParams(small), 'native', { PARAMFLOW_FUSED: '0' })).toBe('PARAMFLOW_FUSED=0');
    expect(fusedProblem(trainParams(small), 'native', {}, '4.22.7')).toBeUndefined();
    expect(fusedProblem(trainParams(small), 'native', {}, '4.23.0')).toMatch(
      /^tfjs 4\.23\.0: the fused trainer works on tfjs 4\.22's/,
    );
    expect(fusedProblem(trainParams(small), 'native', {}, '4.2')).toMatch(/^tfjs 4\.2:/);
    expect(fusedProblem(trainParams(small), 'wasm', {})).toBe(
      'the fused trainer runs on the native backend only (this is wasm)',
    );
    const gelu = trainParams({
      ...small,
      layers: [{ dense: { units: 8 } }, { activation: { name: 'gelu' } }, { dense: { units: 3 } }],
    });
    expect(fusedProblem(gelu, 'native', {})).toMatch(
      /^layers\[1\] uses activation gelu, outside the fused subset \(linear, relu, tanh/,
    );
    expect(() => fusedProblem(trainParams(small), 'native', { PARAMFLOW_FUSED: 'on' })).toThrow(
      /PARAMFLOW_FUSED must be 0 or 1/,
    );
  });
});

const data = await decayCurves(60, 10, 3);

describe.skipIf(TRAIN_BACKEND !== 'native')(needsNative('the train stage on native'), () => {
  const run = (params: Record<string, unknown>, ctx: TrainContext): Promise<StageResult> =>
    Promise.resolve(train.run(data, trainParams(params), ctx));

  it('trains a model outside the subset through tfjs-layers, saying why in one log line', async () => {
    const ctx = trainContext();
    await run({ ...small, layers: [{ dense: { units: 8, activation: 'swish' } }, { dense: { units: 3 } }] }, ctx);
    expect(ctx.logs.filter((l) => l.startsWith('training with'))).toEqual([
      'training with tfjs-layers (no fused trainer: layers[0] uses activation swish, outside the fused subset (linear, relu, tanh, sigmoid, elu, selu, softplus))',
    ]);
  });
});

describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('FusedTrainer'), () => {
  it('never writes into a tensor that shares its array with a weight', async () => {
    const rt = await loadTensorflow('native');
    const params = trainParams(small);
    const { model, optimizer } = createFoldModel(rt, params, 0, 5, 4);
    const x = { rows: 16, cols: 4, data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)) };
    const t = { rows: 16, cols: 3, data: Float32Array.from({ length: 48 }, (_, i) => Math.cos(i)) };
    // As after a restore: the kernel assigned from a tensor that stays alive (they share one array).
    const kernel = model.getLayer('layer_0_dense').getWeights()[0]!;
    const held = rt.tf.tensor(kernel.dataSync().slice(), kernel.shape);
    const before = held.dataSync().slice();
    (model.getLayer('layer_0_dense') as unknown as { kernel: { read(): { assign(t: unknown): void } } }).kernel
      .read()
      .assign(held);
    const trainer = new FusedTrainer(rt, model, optimizer, params, { x: matrixRows(x), t });
    trainer.step(
      Int32Array.from({ length: 16 }, (_, i) => i),
      0,
      16,
      [1],
    );
    expect(held.dataSync()).toEqual(before);
    expect(model.getLayer('layer_0_dense').getWeights()[0]!.dataSync()).not.toEqual(before);
    held.dispose();
    model.dispose();
    optimizer.dispose();
  });
});

describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('mlpStep'), () => {
  it('refuses arrays that do not fit the plan (a RangeError, nothing written)', () => {
    const addon = loadAddon();
    const plan = addon.mlpCreate(Float64Array.of(0, 2, 1, 1, 0, 0, 0, 0), 3, 4);
    const kernel = new Float32Array(6).fill(0.5);
    const bias = new Float32Array(2);
    const x = new Float32Array(12).fill(1);
    const t = new Float32Array(8);
    const hyper = Float64Array.of(0, 0.1, 0, 0, 0, 0, 0, 0, 1);
    const step = (params: Float32Array[], order = Int32Array.of(0, 1, 2, 3)) =>
      addon.mlpStep(plan, x, t, order, 0, 4, params, [], hyper, new Float64Array(0));
    expect(() => step([new Float32Array(5), bias])).toThrow(RangeError);
    expect(() => step([kernel, bias], Int32Array.of(0, 1, 2, 9))).toThrow(/row index out of range/);
    expect(kernel.every((v) => v === 0.5)).toBe(true);
    // The same plan then takes a step: loss of the 4 rows (every prediction 1.5 against 0), kernel moved.
    expect(step([kernel, bias])).toBeCloseTo(2.25, 6);
    expect(kernel.every((v) => v < 0.5)).toBe(true);
  });
});

describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('FusedTrainer.predict (validation)'), () => {
  it('gives the bits tfjs predicts on native for dense relu/linear models, after training steps; declines others', async () => {
    const rt = await loadTensorflow('native');
    const x = { rows: 150, cols: 20, data: Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i * 0.37)) };
    const t = { rows: 150, cols: 3, data: Float32Array.from({ length: 450 }, (_, i) => Math.cos(i * 0.11)) };
    const predict = (layers: unknown[]) => {
      const params = trainParams({ layers, batch_size: 16, epochs: 1 });
      const { model, optimizer } = createFoldModel(rt, params, 0, 9, x.cols);
      const trainer = new FusedTrainer(rt, model, optimizer, params, { x: matrixRows(x), t });
      for (let s = 0; s < 3; s++)
        trainer.step(
          Int32Array.from({ length: 150 }, (_, i) => (i * 7) % 150),
          s * 16,
          16,
          [],
        );
      const fused = trainer.predict(x);
      const tfjs = rt.tf.tidy(
        () =>
          (
            model.apply(rt.tf.tensor2d(x.data, [x.rows, x.cols]), {
              training: false,
            }) as import('@tensorflow/tfjs-core').Tensor
          ).dataSync() as Float32Array,
      );
      model.dispose();
      optimizer.dispose();
      return { fused, tfjs };
    };
    const plain = predict([
      { dense: { units: 17, activation: 'relu' } },
      { dropout: { rate: 0.3 } },
      { dense: { units: 3 } },
    ]);
    expect(plain.fused).toBeDefined();
    expect(Buffer.from(plain.fused!.buffer).equals(Buffer.from(plain.tfjs.buffer))).toBe(true);
    expect(
      predict([{ dense: { units: 8, activation: 'relu' } }, { batch_norm: {} }, { dense: { units: 3 } }]).fused,
    ).toBeUndefined();
    expect(predict([{ dense: { units: 8, activation: 'tanh' } }, { dense: { units: 3 } }]).fused).toBeUndefined();
  });
});
