import { describe, expect, it } from 'vitest';
import type { StageResult } from '../../src/stage-contract/types.js';
import { train } from '../../stages/train/index.js';
import {
  decayCurves,
  MemoryCheckpoints,
  trainContext,
  trainParams,
  type TrainContext,
} from '../helpers/train-context.js';
import { historyOf, outputBytes } from '../helpers/train-outputs.js';

// An interrupted run, resumed from its checkpoint, must end with exactly the bytes of a
// run that was never interrupted.

const data = await decayCurves(90, 10, 3);
const EPOCHS = 5;

const run = (withParams: Record<string, unknown>, ctx: TrainContext): Promise<StageResult> =>
  Promise.resolve(train.run(data, trainParams(withParams), ctx));

const adam = {
  layers: [
    { dense: { units: 12, activation: 'elu', kernel_regularizer: { l2: 0.001 } } },
    { batch_norm: {} },
    { dropout: { rate: 0.25 } },
    { dense: { units: 3 } },
    { batch_norm: { momentum: 0.8 } },
  ],
  optimizer: { adam: { lr: 0.02 } },
  lr_schedule: { plateau: { patience: 1, factor: 0.5 } },
  early_stopping: { patience: 3 },
  // Small batches: enough Adam steps before an abort that its bias-correction powers,
  // recomputed by tfjs's setWeights() with pow(), would differ from the saved ones.
  batch_size: 6,
  epochs: EPOCHS,
};
const sgd = { ...adam, optimizer: { sgd: { lr: 0.05, momentum: 0.9 } }, lr_schedule: { cosine: { min_lr: 0.001 } } };
const rmsprop = {
  ...adam,
  optimizer: { rmsprop: { lr: 0.005, momentum: 0.5 } },
  lr_schedule: { step: { every: 2, factor: 0.5 } },
  loss: 'huber',
};

const reference = new Map<object, Promise<StageResult>>();
function uninterrupted(params: object): Promise<StageResult> {
  if (!reference.has(params)) reference.set(params, run(params as Record<string, unknown>, trainContext()));
  return reference.get(params)!;
}

/** Runs until progress reaches each `stops` value in turn (aborting there), then to the end; all on one store. */
async function interrupted(
  params: Record<string, unknown>,
  stops: number[],
): Promise<{ result: StageResult; contexts: TrainContext[] }> {
  const store = new MemoryCheckpoints();
  const contexts: TrainContext[] = [];
  for (const stop of stops) {
    const controller = new AbortController();
    const ctx = trainContext({
      store,
      signal: controller.signal,
      onProgress: (done) => done === stop && controller.abort(new Error(`abort at ${stop}`)),
    });
    contexts.push(ctx);
    await expect(run(params, ctx)).rejects.toThrow(`abort at ${stop}`);
  }
  const ctx = trainContext({ store });
  contexts.push(ctx);
  return { result: await run(params, ctx), contexts };
}

function expectSameResult(a: StageResult, b: StageResult): void {
  const [ba, bb] = [outputBytes(a), outputBytes(b)];
  expect(Object.keys(ba).sort()).toEqual(Object.keys(bb).sort());
  for (const [name, bytes] of Object.entries(ba)) expect(bytes.equals(bb[name]!), `${name} differs`).toBe(true);
  const values = (r: StageResult) =>
    r.folds!.map((f) => ({
      ...f,
      series: Object.fromEntries(Object.entries(f.series).map(([k, s]) => [k, s.map((p) => [p.step, p.value])])),
    }));
  expect(values(a)).toEqual(values(b));
  expect(a.metrics).toEqual(b.metrics);
}

describe('train: resuming from a checkpoint', () => {
  it.each([
    ['after epoch 2 of fold 0', [2]],
    ['after epoch 3 of fold 1', [EPOCHS + 3]],
    ['between fold 0 and fold 1', [EPOCHS]],
    ['twice: fold 0, then fold 1 of the resumed run', [2, EPOCHS + 3]],
  ])(
    'adam + batch_norm + dropout + plateau + early stopping, stopped %s, ends with identical bytes',
    async (_name, stops) => {
      const { result, contexts } = await interrupted(adam, stops);
      expectSameResult(result, await uninterrupted(adam));
      // The last run resumed where the previous one stopped, and trained only the rest.
      const last = contexts.at(-1)!;
      expect(last.progressCalls[0]!.done).toBe(stops.at(-1));
      expect(last.logs[0]).toMatch(/^resuming from the checkpoint at fold \d/);
      expect(last.logs.filter((l) => l.startsWith('fold '))).toHaveLength(3 - Math.floor(stops.at(-1)! / EPOCHS));
    },
  );

  it.each([
    ['sgd with momentum + cosine', sgd],
    ['rmsprop + step + huber', rmsprop],
  ])('%s resumes with identical bytes', async (_name, params) => {
    const { result } = await interrupted(params, [3]);
    expectSameResult(result, await uninterrupted(params));
  });

  it('early stopping state survives the resume (the resumed fold stops where the uninterrupted one did)', async () => {
    const params = { ...adam, epochs: 30, early_stopping: { patience: 2, min_delta: 0.05 } };
    const straight = await run(params, trainContext());
    const h = historyOf(straight)[0]!;
    expect(h.stopped_epoch).toBeLessThan(30);
    // Stop just before the fold's last epoch, when its patience counter is running.
    const { result } = await interrupted(params, [h.stopped_epoch - 1]);
    expectSameResult(result, straight);
  });

  it('ignores a checkpoint made for another problem and starts over', async () => {
    const store = new MemoryCheckpoints();
    const controller = new AbortController();
    const first = trainContext({
      store,
      signal: controller.signal,
      onProgress: (done) => done === 2 && controller.abort(new Error('stop')),
    });
    await expect(run({ ...adam, epochs: 4 }, first)).rejects.toThrow('stop');
    const ctx = trainContext({ store });
    const result = await run(adam, ctx);
    expect(ctx.logs[0]).toMatch(/^ignoring the checkpoint: it was made for .*"epochs":4/);
    expectSameResult(result, await uninterrupted(adam));
  });
});
