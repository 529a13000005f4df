import { defineStage } from '../../src/stage-contract/types.js';
import { FUSED_TRAINER, fusedProblem } from './fused-problem.js';
import { checkTrainParams, outputSizeProblem, type TrainParams } from './params.js';

export { checkTrainParams, type TrainParams } from './params.js';
export type { FoldHistory } from './checkpoint.js';

/**
 * Trains one network per fold k on the rows whose fold id is neither k nor the
 * holdout (-1), validating on fold k; inputs are each curve's x then y values,
 * standardised with a scaler fitted on the fold's training rows only. Outputs:
 * `model` (fold-<k>/model.json + weights.bin), `scalers` (Scalers, one per fold) and
 * `history` ({ folds: [{ fold, best_epoch, stopped_epoch, epochs: [{ epoch, loss, val_loss, lr }] }] }).
 *
 * Bit-identical on the same backend for the same inputs, params and seed: layer i of
 * fold k is initialised from deriveSeed(seed, `fold${k}/layer${i}`), epoch e shuffles
 * with new Rng(deriveSeed(seed, `fold${k}/epoch${e}`)), and dropout draws its mask for
 * batch b from deriveSeed(seed, `fold${k}/epoch${e}/batch${b}/layer${i}`). A checkpoint
 * after every epoch lets an interrupted run resume with the same result.
 *
 * `loss` is the mean over the epoch's batches of the training objective as tfjs-layers
 * computes it (dropout active, regularization penalties included, as Keras reports it);
 * `val_loss` is the loss on the validation fold in inference mode, without penalties.
 * Both are in the space the network predicts (standardised targets by default). The
 * fold's `val_loss` metric is its best epoch's; the saved model is that epoch's when
 * early_stopping.restore_best is on, else the last epoch's.
 */
export const train = defineStage<TrainParams>({
  name: 'train',
  version: '1',
  schema: 'stages/train.schema.json',
  inputs: ['X', 'Y', 'targets', 'folds'],
  streams: true,
  outputs: [
    { name: 'model', kind: 'folder' },
    { name: 'scalers', kind: 'json' },
    { name: 'history', kind: 'json' },
  ],
  usesBackend: true,
  check: checkTrainParams,
  keyFacts: (params, run): Record<string, string> =>
    fusedProblem(params, run.backend, run.env, run.tfjsVersion) === undefined ? { trainer: FUSED_TRAINER } : {},
  inferShapes: (params, inputs) => {
    const targets = inputs.targets?.shape;
    const problem =
      targets?.length === 2 && targets[1] !== undefined ? outputSizeProblem(params, targets[1]) : undefined;
    return { problems: problem ? [problem] : [] };
  },
  // The training code (and what it imports) loads only when the stage executes.
  run: async (inputs, params, ctx) => (await import('./run.js')).runTrain(inputs, params, ctx),
});
