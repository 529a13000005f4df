import type { io } from '@tensorflow/tfjs-core';
import type { TfRuntime } from '../../src/stage-contract/types.js';
import type { EpochRecord, FoldSnapshot, FoldState } from './loop.js';
import { MODEL_JSON, modelToFiles, WEIGHTS_BIN } from '../../src/model/model-io.js';
import type { EncodedWeights, OptimizerState } from './optimizer.js';
import { saveOptimizerState } from './optimizer.js';
import type { FoldScaler } from '../../src/model/scalers.js';

// train's checkpoint (ctx.checkpoint, saved after every epoch): everything a later run
// needs to continue exactly where this one stopped.
//
//   state.json                      which fold and epoch; finished folds' histories and scalers;
//                                   the fold in progress: its epochs, early-stopping and
//                                   plateau state, lr, the optimizer's weight specs
//   done/fold-<k>/model.json, weights.bin      finished folds' models
//   current/model.json, weights.bin            the fold in progress, after its last epoch
//   current/optimizer.bin                      its optimizer's state
//   current/best.bin                           its best weights (early_stopping.restore_best)

// Format 2 adds state.current.state.partial (an epoch stopped by Ctrl-C); format 1 files still load.
const FORMAT = 2;
const STATE = 'state.json';

/** What must match for a checkpoint to belong to this run (the stage key covers the rest). */
export interface ProblemShape {
  rows: number;
  features: number;
  targets: number;
  folds: number;
  epochs: number;
}

export interface FoldHistory {
  fold: number;
  best_epoch: number;
  stopped_epoch: number;
  epochs: EpochRecord[];
}

export interface FinishedFold {
  history: FoldHistory;
  timestamps: number[];
  scaler: FoldScaler;
  /** model.json and weights.bin. */
  files: Record<string, Uint8Array>;
}

export interface CurrentFold {
  fold: number;
  state: FoldState;
  weights: EncodedWeights;
  optimizer: OptimizerState;
}

export interface Checkpoint {
  finished: FinishedFold[];
  current?: CurrentFold;
}

interface StateJson {
  format: number;
  shape: ProblemShape;
  finished: { history: FoldHistory; timestamps: number[]; scaler: FoldScaler }[];
  current?: {
    fold: number;
    // JSON has no Infinity: best values before any epoch are written as null.
    state: Omit<FoldState, 'bestWeights' | 'best' | 'plateau'> & {
      best: { val_loss: number | null; epoch: number };
      plateau: { best: number | null; wait: number };
    };
    optimizer: { specs: io.WeightsManifestEntry[]; adamPowers?: [number, number] };
    bestWeights?: io.WeightsManifestEntry[];
  };
}

/** The checkpoint's files after an epoch of fold `current.fold` (or between folds when `current` is absent). */
export async function checkpointFiles(
  rt: TfRuntime,
  shape: ProblemShape,
  finished: readonly FinishedFold[],
  current?: { fold: number; snapshot: FoldSnapshot },
): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  const state: StateJson = {
    format: FORMAT,
    shape,
    finished: finished.map(({ history, timestamps, scaler }) => ({ history, timestamps, scaler })),
  };
  for (const f of finished)
    for (const [name, bytes] of Object.entries(f.files)) files[`done/fold-${f.history.fold}/${name}`] = bytes;
  if (current) {
    const { state: s, model, optimizer } = current.snapshot;
    const opt = await saveOptimizerState(rt, optimizer);
    const model_ = await modelToFiles(rt, model);
    files[`current/${MODEL_JSON}`] = model_[MODEL_JSON]!;
    files[`current/${WEIGHTS_BIN}`] = model_[WEIGHTS_BIN]!;
    files['current/optimizer.bin'] = opt.weights.data;
    if (s.bestWeights) files['current/best.bin'] = s.bestWeights.data;
    const { bestWeights, best, plateau, ...rest } = s;
    state.current = {
      fold: current.fold,
      state: {
        ...rest,
        best: { val_loss: finiteOrNull(best.val_loss), epoch: best.epoch },
        plateau: { best: finiteOrNull(plateau.best), wait: plateau.wait },
      },
      optimizer: opt.adamPowers
        ? { specs: opt.weights.specs, adamPowers: opt.adamPowers }
        : { specs: opt.weights.specs },
      ...(bestWeights ? { bestWeights: bestWeights.specs } : {}),
    };
  }
  files[STATE] = Buffer.from(JSON.stringify(state));
  return files;
}

/** The checkpoint in `files`, or why it cannot be used. */
export function parseCheckpoint(
  files: Readonly<Record<string, Uint8Array>>,
  shape: ProblemShape,
): Checkpoint | { unusable: string } {
  const raw = files[STATE];
  if (!raw) return { unusable: `it has no ${STATE}` };
  let state: StateJson;
  try {
    state = JSON.parse(Buffer.from(raw).toString('utf8')) as StateJson;
  } catch (err) {
    return { unusable: `its ${STATE} is not JSON (${(err as Error).message})` };
  }
  if (state.format !== FORMAT && state.format !== 1)
    return { unusable: `it has format ${state.format}, this version writes ${FORMAT}` };
  if (JSON.stringify(state.shape) !== JSON.stringify(shape))
    return { unusable: `it was made for ${JSON.stringify(state.shape)}, not ${JSON.stringify(shape)}` };

  const finished: FinishedFold[] = [];
  for (const f of state.finished) {
    const model = files[`done/fold-${f.history.fold}/${MODEL_JSON}`];
    const weights = files[`done/fold-${f.history.fold}/${WEIGHTS_BIN}`];
    if (!model || !weights) return { unusable: `the model of finished fold ${f.history.fold} is missing` };
    finished.push({ ...f, files: { [MODEL_JSON]: model, [WEIGHTS_BIN]: weights } });
  }
  const c = state.current;
  if (!c) return { finished };

  const modelJson = files[`current/${MODEL_JSON}`];
  const weights = files[`current/${WEIGHTS_BIN}`];
  const optimizer = files['current/optimizer.bin'];
  const best = files['current/best.bin'];
  if (!modelJson || !weights || !optimizer || (c.bestWeights && !best))
    return { unusable: `files of fold ${c.fold} in progress are missing` };
  const manifest = JSON.parse(Buffer.from(modelJson).toString('utf8')) as {
    weightsManifest: { weights: io.WeightsManifestEntry[] }[];
  };
  const fold: FoldState = {
    ...c.state,
    best: { val_loss: c.state.best.val_loss ?? Infinity, epoch: c.state.best.epoch },
    plateau: { best: c.state.plateau.best ?? Infinity, wait: c.state.plateau.wait },
    ...(c.bestWeights && best ? { bestWeights: { data: best, specs: c.bestWeights } } : {}),
  };
  return {
    finished,
    current: {
      fold: c.fold,
      state: fold,
      weights: { data: weights, specs: manifest.weightsManifest[0]!.weights },
      optimizer: {
        weights: { data: optimizer, specs: c.optimizer.specs },
        ...(c.optimizer.adamPowers ? { adamPowers: c.optimizer.adamPowers } : {}),
      },
    },
  };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
