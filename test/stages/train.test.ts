import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import type { FolderArtifact, StageResult, TfRuntime } from '../../src/stage-contract/types.js';
import { deriveSeed } from '../../src/stage-contract/random.js';
import { train } from '../../stages/train/index.js';
import { FusedTrainer } from '../../stages/train/fused.js';
import { curveFeatures, foldIndices, takeRows } from '../../src/model/features.js';
import { foldModelFiles, modelFromFiles } from '../../src/model/model-io.js';
import { needsNative } from '../helpers/native.js';
import {
  decayCurves,
  TRAIN_BACKEND,
  trainContext,
  trainParams,
  trainRuntime,
  type CurveData,
  type TrainContext,
} from '../helpers/train-context.js';
import {
  historyOf,
  mse,
  noiseData,
  outputBytes,
  predictValidation,
  r2,
  scalersOf,
  shiftFold,
} from '../helpers/train-outputs.js';

let rt: TfRuntime;
beforeAll(async () => {
  rt = await trainRuntime();
});

const run = (
  data: CurveData,
  withParams: Record<string, unknown>,
  ctx: TrainContext = trainContext(),
): Promise<StageResult> => Promise.resolve(train.run(data, trainParams(withParams), ctx));

// Dropout, BatchNorm (also on the output) and a regularizer: every source of randomness and state.
const busy = {
  layers: [
    { dense: { units: 16, activation: 'relu', kernel_regularizer: { l2: 0.001 } } },
    { dropout: { rate: 0.2 } },
    { batch_norm: {} },
    { dense: { units: 3 } },
    { batch_norm: { momentum: 0.9 } },
  ],
  optimizer: { adam: { lr: 0.01 } },
  batch_size: 16,
  epochs: 4,
};

const determinismData = await decayCurves(120, 20, 3);

describe('train: determinism', () => {
  const data = determinismData;

  it('gives the same bytes for the same seed, and other weights for another seed', async () => {
    const a = await run(data, busy);
    const b = await run(data, busy);
    const c = await run(data, busy, trainContext({ seed: 7 }));
    const [ba, bb, bc] = [a, b, c].map(outputBytes);
    expect(Object.keys(ba!).sort()).toEqual([
      'history',
      'model/fold-0/model.json',
      'model/fold-0/weights.bin',
      'model/fold-1/model.json',
      'model/fold-1/weights.bin',
      'model/fold-2/model.json',
      'model/fold-2/weights.bin',
      'scalers',
    ]);
    for (const [name, bytes] of Object.entries(ba!)) expect(bytes.equals(bb![name]!), name).toBe(true);
    expect(ba!['model/fold-0/weights.bin']!.equals(bc!['model/fold-0/weights.bin']!)).toBe(false);
    expect(a.folds).toEqual(b.folds!.map((f, i) => ({ ...f, series: a.folds![i]!.series })));
  });

  it('draws a new dropout mask seed for every batch, the same in every run (tfjs-layers path)', async () => {
    vi.stubEnv('PARAMFLOW_FUSED', '0');
    const Dropout = rt.layers.layers.dropout({ rate: 0.5 }).constructor as {
      prototype: { call: (...a: unknown[]) => unknown };
    };
    const seen: number[][] = [];
    const call = Dropout.prototype.call;
    const spy = vi.spyOn(Dropout.prototype, 'call').mockImplementation(function (
      this: { seed: number },
      ...args: unknown[]
    ) {
      if ((args[1] as { training?: boolean } | undefined)?.training) seen.at(-1)!.push(this.seed);
      return call.apply(this, args);
    });
    try {
      for (let i = 0; i < 2; i++) {
        seen.push([]);
        await run(data, { ...busy, epochs: 2 });
      }
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    // 3 folds × 2 epochs × 5 batches of 16 (80 training rows), one mask each.
    expect(seen[0]).toHaveLength(30);
    expect(new Set(seen[0]).size).toBe(30);
    expect(seen[1]).toEqual(seen[0]);
  });

  it.skipIf(TRAIN_BACKEND !== 'native')(
    needsNative('gives the fused trainer the same dropout seed per batch as the tfjs-layers path'),
    async () => {
      const fused: number[][] = [];
      const step = FusedTrainer.prototype.step;
      const spy = vi.spyOn(FusedTrainer.prototype, 'step').mockImplementation(function (
        this: FusedTrainer,
        order,
        start,
        rows,
        seeds,
      ) {
        fused.at(-1)!.push(...seeds);
        return step.call(this, order, start, rows, seeds);
      });
      try {
        for (let i = 0; i < 2; i++) {
          fused.push([]);
          await run(data, { ...busy, epochs: 2 });
        }
      } finally {
        spy.mockRestore();
      }
      expect(fused[0]).toHaveLength(30);
      expect(new Set(fused[0]).size).toBe(30);
      expect(fused[1]).toEqual(fused[0]);
      expect(fused[0]![0]).toBe(deriveSeed(2024, 'fold0/epoch1/batch0/layer1'));
    },
  );

  it("updates BatchNorm's moving statistics while training", async () => {
    const r = await run(data, { ...busy, epochs: 2 });
    const model = await modelFromFiles(rt, foldModelFiles((r.outputs.model as FolderArtifact).files, 0));
    const [, , movingMean, movingVariance] = model
      .getLayer('layer_2_batch_norm')
      .getWeights()
      .map((w) => Array.from(w.dataSync()));
    expect(movingMean!.some((v) => v !== 0)).toBe(true);
    expect(movingVariance!.some((v) => v !== 1)).toBe(true);
    model.dispose();
  });

  it('never calls Math.random', async () => {
    const spy = vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random called during training');
    });
    try {
      await run(data, { ...busy, epochs: 2 });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

const scalerData = await decayCurves(90, 10, 3);

describe('train: scalers', () => {
  const data = scalerData;
  const tiny = { layers: [{ dense: { units: 3 } }], epochs: 1 };

  it("fits each fold's scaler on that fold's training rows", async () => {
    const s = scalersOf(await run(data, tiny));
    expect(s).toMatchObject({ format: 1, features: 20, targetNames: ['A', 'B', 'C'] });
    expect(s.folds).toHaveLength(3);
    for (let k = 0; k < 3; k++) {
      const { train: rows } = foldIndices(data.folds, k);
      const f = curveFeatures(data.X, data.Y, rows);
      const t = takeRows(data.targets, rows);
      const colMean = (m: { rows: number; cols: number; data: Float32Array }, c: number): number => {
        let sum = 0;
        for (let r = 0; r < m.rows; r++) sum += m.data[r * m.cols + c]!;
        return sum / m.rows;
      };
      s.folds[k]!.inputs.mean!.forEach((v, c) => expect(v).toBeCloseTo(colMean(f, c), 9));
      s.folds[k]!.targets.mean.forEach((v, c) => expect(v).toBeCloseTo(colMean(t, c), 9));
      expect(s.folds[k]!.inputs.mode).toBe('per-feature');
      expect(s.folds[k]!.targets.standardize).toBe(true);
    }
  });

  it("moving one fold's curves by +1000 leaves that fold's scaler as it was (no leakage)", async () => {
    const before = scalersOf(await run(data, tiny)).folds;
    const after = scalersOf(await run(shiftFold(data, 2, 1000), tiny)).folds;
    expect(after[2]).toEqual(before[2]);
    expect(after[0]!.inputs.mean).not.toEqual(before[0]!.inputs.mean);
    expect(after[1]!.inputs.mean).not.toEqual(before[1]!.inputs.mean);
  });

  it('never fits on holdout rows (fold id -1)', async () => {
    const folds = ndarray(
      'int32',
      [90],
      Int32Array.from(data.folds.data as Int32Array, (f, i) => (i % 10 === 0 ? -1 : f)),
    );
    const held = { ...data, folds };
    const before = scalersOf(await run(held, tiny)).folds;
    const after = scalersOf(await run(shiftFold(held, -1, 1000), tiny)).folds;
    expect(after).toEqual(before);
  });
});

describe('train: learning', () => {
  it('learns noise-free exponential decay: R² > 0.9 for every target on every validation fold', async () => {
    const data = await decayCurves(200, 20, 4);
    const r = await run(data, {
      layers: [{ dense: { units: 32, activation: 'relu' } }, { dense: { units: 3 } }],
      optimizer: { adam: { lr: 0.005 } },
      batch_size: 16,
      epochs: 40,
      early_stopping: { patience: 8 },
    });
    for (let k = 0; k < 4; k++) {
      const p = await predictValidation(rt, r, data, k);
      const scores = [0, 1, 2].map((c) => r2(p.predicted, p.truth, c));
      for (const s of scores)
        expect(s, `fold ${k}: R² ${scores.map((v) => v.toFixed(3)).join(', ')}`).toBeGreaterThan(0.9);
    }
  });
});

describe('train: early stopping', () => {
  // Targets unrelated to the curves: val_loss rises once the network starts memorising.
  const data = noiseData(90, 10, 3, 5);
  const overfit = {
    layers: [{ dense: { units: 64, activation: 'relu' } }, { dense: { units: 2 } }],
    optimizer: { adam: { lr: 0.01 } },
    batch_size: 8,
    epochs: 100,
  };

  it('stops after patience epochs without improvement and saves the best weights', async () => {
    const r = await run(data, { ...overfit, early_stopping: { patience: 3 } });
    for (const h of historyOf(r)) {
      expect(h.stopped_epoch).toBeLessThan(100);
      expect(h.stopped_epoch).toBe(h.best_epoch + 3);
      expect(h.epochs).toHaveLength(h.stopped_epoch);
      const best = Math.min(...h.epochs.map((e) => e.val_loss));
      expect(h.epochs[h.best_epoch - 1]!.val_loss).toBe(best);
      const p = await predictValidation(rt, r, data, h.fold);
      expect(mse(p.predictedScaled, p.truthScaled)).toBeCloseTo(best, 5);
      expect(r.folds![h.fold]!.metrics).toEqual({ best_epoch: h.best_epoch, best_val_loss: best });
    }
  });

  it('keeps the last weights with restore_best: false', async () => {
    const r = await run(data, { ...overfit, early_stopping: { patience: 3, restore_best: false } });
    const h = historyOf(r)[0]!;
    const p = await predictValidation(rt, r, data, 0);
    expect(mse(p.predictedScaled, p.truthScaled)).toBeCloseTo(h.epochs.at(-1)!.val_loss, 5);
    expect(h.epochs.at(-1)!.val_loss).toBeGreaterThan(h.epochs[h.best_epoch - 1]!.val_loss);
  });

  it('counts only improvements larger than min_delta', async () => {
    const h = historyOf(await run(data, { ...overfit, early_stopping: { patience: 2, min_delta: 10 } }))[0]!;
    expect(h).toMatchObject({ best_epoch: 1, stopped_epoch: 3 });
  });
});

describe('train: learning-rate schedules', () => {
  const data = noiseData(40, 5, 2, 9);
  const small = {
    layers: [{ dense: { units: 4, activation: 'tanh' } }, { dense: { units: 2 } }],
    batch_size: 8,
    epochs: 6,
  };
  const lrsOf = async (extra: Record<string, unknown>): Promise<number[]> =>
    historyOf(await run(data, { ...small, ...extra }))[0]!.epochs.map((e) => e.lr);

  it('step, exponential and cosine give the lr of each epoch', async () => {
    expect(await lrsOf({ optimizer: { sgd: { lr: 0.1 } }, lr_schedule: { step: { every: 2, factor: 0.5 } } })).toEqual([
      0.1, 0.1, 0.05, 0.05, 0.025, 0.025,
    ]);
    expect(await lrsOf({ optimizer: { adam: { lr: 0.01 } }, lr_schedule: { exponential: { decay: 0.5 } } })).toEqual([
      0.01, 0.005, 0.0025, 0.00125, 0.000625, 0.0003125,
    ]);
    const cos = await lrsOf({ optimizer: { rmsprop: { lr: 0.01 } }, lr_schedule: { cosine: { min_lr: 0.001 } } });
    const want = [0, 1, 2, 3, 4, 5].map((e) => 0.001 + (0.009 * (1 + Math.cos((Math.PI * e) / 5))) / 2);
    cos.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 15));
  });

  it('plateau cuts lr when val_loss stalls, as the val_loss history says', async () => {
    const h = historyOf(
      await run(data, {
        ...small,
        epochs: 12,
        optimizer: { adam: { lr: 0.05 } },
        lr_schedule: { plateau: { patience: 2, factor: 0.5, min_lr: 0.01 } },
      }),
    )[0]!;
    let best = Infinity;
    let wait = 0;
    let lr = 0.05;
    for (const e of h.epochs) {
      expect(e.lr).toBe(lr);
      if (e.val_loss < best) [best, wait] = [e.val_loss, 0];
      else if (++wait >= 2) [lr, wait] = [Math.max(lr * 0.5, 0.01), 0];
    }
    expect(new Set(h.epochs.map((e) => e.lr)).size).toBeGreaterThan(1);
  });

  it.each([['adam'], ['sgd'], ['rmsprop']])(
    '%s trains at the scheduled lr (≈0 after epoch 1: the weights stop moving)',
    async (name) => {
      const h = historyOf(
        await run(data, {
          ...small,
          optimizer: { [name]: { lr: 0.05 } },
          lr_schedule: { exponential: { decay: 1e-30 } },
        }),
      )[0]!;
      expect(new Set(h.epochs.map((e) => e.val_loss)).size).toBe(1);
      const free = historyOf(await run(data, { ...small, optimizer: { [name]: { lr: 0.05 } } }))[0]!;
      expect(new Set(free.epochs.map((e) => e.val_loss)).size).toBeGreaterThan(1);
    },
  );
});

const runData = await decayCurves(60, 10, 3);

describe('train: run', () => {
  const data = runData;

  it('reports progress in epochs, a log line per fold, and per-fold curves', async () => {
    const ctx = trainContext();
    const r = await run(data, { ...busy, epochs: 3 }, ctx);
    expect(ctx.progressCalls.map((c) => c.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ctx.progressCalls.every((c) => c.total === 9 && c.unit === 'epochs')).toBe(true);
    expect(ctx.logs).toHaveLength(4);
    // One line says which trainer ran: the fused one on native, tfjs-layers (and why) elsewhere.
    expect(ctx.logs[0]).toBe(
      TRAIN_BACKEND === 'native'
        ? 'training with the fused native trainer (one addon call per batch)'
        : `training with tfjs-layers (no fused trainer: the fused trainer runs on the native backend only (this is ${TRAIN_BACKEND}))`,
    );
    expect(ctx.logs[2]).toMatch(/^fold 1: best epoch \d of 3, val_loss [\d.e-]+$/);
    const h = historyOf(r);
    expect(r.folds!.map((f) => f.fold)).toEqual([0, 1, 2]);
    for (const f of r.folds!) {
      expect(f.series.loss!.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(f.series.val_loss!.map((p) => p.value)).toEqual(h[f.fold]!.epochs.map((e) => e.val_loss));
      expect(f.series.loss!.every((p) => p.timestamp > 0)).toBe(true);
    }
    expect(r.metrics!.val_loss_mean).toBeCloseTo(r.folds!.reduce((a, f) => a + f.metrics.best_val_loss!, 0) / 3, 12);
    expect(h[0]).toMatchObject({ fold: 0, stopped_epoch: 3 });
    expect(Object.keys(h[0]!.epochs[0]!)).toEqual(['epoch', 'loss', 'val_loss', 'lr']);
  });

  it('keeps the number of tensors flat across epochs and leaves none behind', async () => {
    const params = { ...busy, epochs: 4, loss: 'huber', early_stopping: { patience: 10 } };
    await run(data, params); // warm-up: tfjs caches a few constants on first use
    const before = rt.tf.memory().numTensors;
    const counts: number[] = [];
    await run(data, params, trainContext({ onProgress: () => counts.push(rt.tf.memory().numTensors) }));
    expect(rt.tf.memory().numTensors).toBe(before);
    // Per fold: epochs 1–3 (the fold's model and optimizer alive), then the fold's end (disposed).
    for (let k = 0; k < 3; k++) {
      const fold = counts.slice(k * 4, k * 4 + 4);
      expect(new Set(fold.slice(0, 3)).size, `fold ${k}: ${fold.join(', ')}`).toBe(1);
      expect(fold[3]).toBe(before);
    }
  });

  it('refuses an output layer whose units differ from the number of targets, before loading TensorFlow', async () => {
    const ctx = { ...trainContext(), tf: () => Promise.reject(new Error('TensorFlow loaded')) };
    const err = await run(
      data,
      { layers: [{ dense: { units: 8 } }, { dense: { units: 5 } }, { batch_norm: {} }] },
      ctx,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParamflowError);
    expect(err).toMatchObject({ code: 'PF_STAGE_FAILED', pointer: '/layers/1/dense/units' });
    expect((err as Error).message).toMatch(/layers\[1\] \(dense, units: 5\).*`targets` has 3 columns/);
    expect((err as ParamflowError).hint).toMatch(/units: 3 in layers\[1\].*batch_norm/);
  });

  it('refuses a model without a dense layer at run time too', async () => {
    const ctx = { ...trainContext(), tf: () => Promise.reject(new Error('TensorFlow loaded')) };
    await expect(run(data, { layers: [{ batch_norm: {} }] }, ctx)).rejects.toMatchObject({
      code: 'PF_SCHEMA',
      pointer: '/layers',
    });
  });

  it('refuses inputs that do not fit together', async () => {
    const bad = { ...data, folds: ndarray('int32', [59]) };
    await expect(run(bad, { layers: [{ dense: { units: 3 } }] })).rejects.toThrow(
      /folds has shape \[59\], expected \[60\]/,
    );
  });

  it('stops at an abort, with the reason, leaving a checkpoint of the last finished epoch', async () => {
    const controller = new AbortController();
    const ctx = trainContext({
      signal: controller.signal,
      onProgress: (done) => done === 2 && controller.abort(new Error('stop here')),
    });
    await expect(run(data, busy, ctx)).rejects.toThrow('stop here');
    expect(ctx.progressCalls.at(-1)!.done).toBe(2);
    const state = JSON.parse(Buffer.from(ctx.store.files!['state.json']!).toString('utf8')) as {
      finished: unknown[];
      current: { fold: number; state: { epochs: unknown[] } };
    };
    expect(state.finished).toEqual([]);
    expect(state.current.fold).toBe(0);
    expect(state.current.state.epochs).toHaveLength(2);
    expect(Object.keys(ctx.store.files!).sort()).toEqual([
      'current/model.json',
      'current/optimizer.bin',
      'current/weights.bin',
      'state.json',
    ]);
  });
});
