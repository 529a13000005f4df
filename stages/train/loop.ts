import type { Optimizer, Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ParamflowError } from '../../src/util/errors.js';
import { crashPoint } from '../../src/util/crash.js';
import { deriveSeed, Rng } from '../../src/stage-contract/random.js';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import type { Matrix } from '../../src/model/features.js';
import { gatherMatrix, type Rows } from '../../src/model/curve-rows.js';
import { FusedTrainer } from './fused.js';
import { buildModel, dropoutLayers } from './layers.js';
import {
  makeOptimizer,
  restoreOptimizerState,
  setLearningRate,
  type EncodedWeights,
  type OptimizerState,
} from './optimizer.js';
import { baseLearningRate, type LossName, type TrainParams } from './params.js';
import { validationLoss } from './validation.js';
import { encodeModelWeights, loadModelWeights } from './weights.js';
import { EventLoopTurns } from '../../src/stage-contract/event-loop-turns.js';
import { afterEpoch, initialPlateau, scheduledLearningRate, type PlateauState } from './schedule.js';

// paramflow's own training loop for one fold (tfjs `fit` shuffles with Math.random and
// has no restore-best or schedules). Everything random is a function of
// the stage seed, the fold, the epoch and the batch, never of what ran before, so a
// run resumed at an epoch boundary continues bit for bit.

export interface EpochRecord {
  epoch: number;
  loss: number;
  val_loss: number;
  lr: number;
}

/** What the loop carries from one epoch to the next (saved in checkpoints). */
export interface FoldState {
  epochs: EpochRecord[];
  /** When each epoch ended (ms since the epoch), for the metric series. */
  timestamps: number[];
  best: { val_loss: number; epoch: number };
  /** Epochs since the last improvement (early stopping). */
  wait: number;
  /** The learning rate of the last epoch (plateau reduces it). */
  lr: number;
  plateau: PlateauState;
  /** Weights of the best epoch, kept when early_stopping.restore_best asks for them. */
  bestWeights?: EncodedWeights;
  /**
   * An epoch stopped part-way by an interrupt: batches before `batch` are done, `sum` is their
   * summed loss and `lr` the epoch's learning rate. The order and dropout masks are functions of
   * the epoch and batch, so training continues from here bit for bit.
   */
  partial?: { epoch: number; batch: number; sum: number; lr: number };
}

/** A fold in training, as the epoch hook sees it (to checkpoint it). */
export interface FoldSnapshot {
  state: FoldState;
  model: LayersModel;
  optimizer: Optimizer;
}

export interface FoldJob {
  rt: TfRuntime;
  params: TrainParams;
  fold: number;
  seed: number;
  /** Standardised training and validation rows (inputs x, targets t). */
  train: { x: Rows; t: Matrix };
  validation: { x: Rows; t: Matrix };
  signal: AbortSignal;
  /** Train with the fused native trainer (fused.ts: the caller checked fusedProblem), else tfjs-layers' trainOnBatch. */
  fused?: boolean;
  /** Where a checkpoint left this fold. */
  resume?: { state: FoldState; weights: EncodedWeights; optimizer: OptimizerState };
  /** Called after every epoch but the fold's last (the caller saves the finished fold itself). */
  onEpoch(s: FoldSnapshot): Promise<void>;
  /** Called once when `signal` aborts mid-fold, with `state.partial` set (the caller saves a checkpoint); then trainFold throws. */
  onInterrupt(s: FoldSnapshot): Promise<void>;
}

export interface FoldOutcome {
  state: FoldState;
  /** The model to save (best weights restored when asked), owned by the caller. */
  model: LayersModel;
}

export function newFoldState(params: TrainParams): FoldState {
  return {
    epochs: [],
    timestamps: [],
    best: { val_loss: Infinity, epoch: 0 },
    wait: 0,
    lr: baseLearningRate(params),
    plateau: initialPlateau(),
  };
}

/** Seed of layer `index`'s initializer (and of a dropout layer's base mask) in fold `fold`. */
export function layerSeed(seed: number, fold: number, index: number): number {
  return deriveSeed(seed, `fold${fold}/layer${index}`);
}

export function createFoldModel(
  rt: TfRuntime,
  params: TrainParams,
  fold: number,
  seed: number,
  features: number,
): { model: LayersModel; optimizer: Optimizer } {
  const model = buildModel(rt, params.layers, features, (i) => layerSeed(seed, fold, i), `fold_${fold}`);
  const optimizer = makeOptimizer(rt, params.optimizer);
  model.compile({ optimizer, loss: lossFunction(rt, params.loss, params.huber_delta) });
  return { model, optimizer };
}

function lossFunction(
  rt: TfRuntime,
  loss: LossName,
  delta: number,
): string | ((yTrue: Tensor, yPred: Tensor) => Tensor) {
  if (loss === 'mse') return 'meanSquaredError';
  if (loss === 'mae') return 'meanAbsoluteError';
  // tfjs-layers has no 'huber' loss string; tf.losses.huberLoss means over all values.
  return (yTrue, yPred) => rt.tf.losses.huberLoss(yTrue, yPred, undefined, delta);
}

/** Trains fold `job.fold` from scratch or from `job.resume`, to its last epoch or early stop. */
export async function trainFold(job: FoldJob): Promise<FoldOutcome> {
  const { rt, params, fold, seed } = job;
  const { model, optimizer } = createFoldModel(rt, params, fold, seed, job.train.x.cols);
  try {
    const state = job.resume ? job.resume.state : newFoldState(params);
    if (job.resume) {
      await loadModelWeights(rt, model, job.resume.weights);
      await restoreOptimizerState(rt, optimizer, job.resume.optimizer);
    }
    const dropouts = dropoutLayers(model, params.layers);
    const es = params.early_stopping;
    const fused = job.fused ? new FusedTrainer(rt, model, optimizer, params, job.train) : undefined;
    const batches = fused ? undefined : new BatchGatherer(job.train.x, job.train.t, params.batch_size);
    let finished = state.epochs.length >= params.epochs || (es !== undefined && state.wait >= es.patience);
    const partial = state.partial;
    delete state.partial;
    // Steps are synchronous addon calls: SIGINT's handler runs only in these turns.
    const turns = new EventLoopTurns(job.signal);

    for (let epoch = partial?.epoch ?? state.epochs.length + 1; !finished; epoch++) {
      const from = partial?.epoch === epoch ? partial : undefined;
      const lr = from
        ? from.lr
        : scheduledLearningRate(params.lr_schedule, baseLearningRate(params), epoch, params.epochs, state.lr);
      setLearningRate(optimizer, lr);
      const order = new Int32Array(job.train.x.rows);
      for (let i = 0; i < order.length; i++) order[i] = i;
      new Rng(deriveSeed(seed, `fold${fold}/epoch${epoch}`)).shuffle(order);

      let sum = from ? from.sum : 0;
      for (let b = from ? from.batch : 0; b * params.batch_size < order.length; b++) {
        if (turns.due()) await turns.pass();
        if (job.signal.aborted) {
          // Stopped before batch b: save where we are, so a resume loses nothing.
          for (const d of dropouts) d.layer.seed = layerSeed(seed, fold, d.index);
          state.partial = { epoch, batch: b, sum, lr };
          await job.onInterrupt({ state, model, optimizer });
          throw job.signal.reason;
        }
        // Stateless dropout: tfjs reuses one mask per seed, so each batch gets its own.
        const seeds = dropouts.map((d) => deriveSeed(seed, `fold${fold}/epoch${epoch}/batch${b}/layer${d.index}`));
        if (fused) {
          const start = b * params.batch_size;
          const rows = Math.min(params.batch_size, order.length - start);
          sum += fused.step(order, start, rows, seeds) * rows;
        } else {
          dropouts.forEach((d, i) => (d.layer.seed = seeds[i]));
          const { x, y, rows } = batches!.batch(rt, order, b);
          // trainOnBatch runs the forward pass with training = true, so BatchNormalization uses
          // batch statistics and updates its moving mean and variance (in its call()), and
          // the compiled optimizer takes one step (regularization penalties included).
          try {
            sum += ((await model.trainOnBatch(x, y)) as number) * rows;
          } finally {
            x.dispose();
            y.dispose();
          }
        }
        crashPoint('train-batch');
      }
      for (const d of dropouts) d.layer.seed = layerSeed(seed, fold, d.index);

      const loss = sum / order.length;
      const valLoss = await validationLoss(rt, model, job.validation, params.loss, params.huber_delta, fused);
      if (!Number.isFinite(loss) || !Number.isFinite(valLoss)) throw divergedError(fold, epoch, loss, valLoss, lr);
      state.epochs.push({ epoch, loss, val_loss: valLoss, lr });
      state.timestamps.push(Date.now());
      state.lr = afterEpoch(params.lr_schedule, state.plateau, valLoss, lr);

      const minDelta = es?.min_delta ?? 0;
      if (valLoss < state.best.val_loss - minDelta) {
        state.best = { val_loss: valLoss, epoch };
        state.wait = 0;
        if (es?.restore_best) state.bestWeights = await encodeModelWeights(rt, model);
      } else {
        state.wait++;
      }
      finished = epoch >= params.epochs || (es !== undefined && state.wait >= es.patience);
      if (finished && es?.restore_best && state.bestWeights && state.best.epoch !== epoch)
        await loadModelWeights(rt, model, state.bestWeights);
      if (!finished) await job.onEpoch({ state, model, optimizer });
    }
    return { state, model };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    optimizer.dispose();
  }
}

/**
 * Copies batch rows into two reusable Float32Arrays (a plain loop over row slices:
 * much faster than tfjs's element-wise gather) and wraps them in tensors.
 */
class BatchGatherer {
  private readonly xBuf: Float32Array;
  private readonly yBuf: Float32Array;

  constructor(
    private readonly xs: Rows,
    private readonly ts: Matrix,
    private readonly size: number,
  ) {
    const rows = Math.min(size, xs.rows);
    this.xBuf = new Float32Array(rows * xs.cols);
    this.yBuf = new Float32Array(rows * ts.cols);
  }

  batch(rt: TfRuntime, order: Int32Array, b: number): { x: Tensor; y: Tensor; rows: number } {
    const start = b * this.size;
    const rows = Math.min(this.size, order.length - start);
    const { xs, ts, xBuf, yBuf } = this;
    xs.gather(order, start, rows, xBuf);
    gatherMatrix(ts, order, start, rows, yBuf);
    // The cpu backend keeps the array it is given: the caller disposes both tensors before the next batch overwrites it.
    const x = rt.tf.tensor2d(xBuf.subarray(0, rows * xs.cols), [rows, xs.cols]);
    const y = rt.tf.tensor2d(yBuf.subarray(0, rows * ts.cols), [rows, ts.cols]);
    return { x, y, rows };
  }
}

function divergedError(fold: number, epoch: number, loss: number, valLoss: number, lr: number): ParamflowError {
  return new ParamflowError(
    'PF_STAGE_FAILED',
    `train: fold ${fold} diverged at epoch ${epoch} (loss ${loss}, val_loss ${valLoss}, lr ${lr})`,
    {
      hint: 'lower the learning rate, standardize inputs and targets (standardize: { inputs: per-feature, targets: true }), or use loss: huber',
    },
  );
}
