import type { FoldEvent } from '../stage-contract/types.js';
import type { RunRecord } from './run-record.js';

/**
 * What the runner tells a tracking server about a run, as it happens (MLflow's tracker,
 * tracking/mlflow/tracker.ts, is the one there is). Never in the way: every call returns at
 * once, and `finish` waits a bounded time, leaving what is unsent to `paramflow sync`.
 */
export interface RunTracker {
  start(record: RunRecord): void;
  /** A fold of a stage is training: its run starts, its curves grow, it ends (streamed while the stage runs). */
  fold?(record: RunRecord, stageName: string, event: FoldEvent): void;
  /** A stage ended: its status, metrics and the files worth keeping beside the run (and its model or data). */
  stage(
    record: RunRecord,
    stageName: string,
    artifacts?: readonly { path: string; file: string }[],
    outputs?: TrackedOutputs,
  ): void;
  /** The run ended: `message` says where it was logged, `synced` whether everything arrived. */
  finish(record: RunRecord): Promise<{ message: string; synced: boolean }>;
}

/** What a stage made that a tracking server shows as more than files. */
export interface TrackedOutputs {
  /** A trained stage's fold models, for a model a notebook can load (MLflow: a pyfunc model). */
  model?: TrackedModel;
  /** A data stage's arrays: a dataset the runs that share it show as the same one. */
  dataset?: TrackedDataset;
}

export interface TrackedModel {
  /** The scalers' JSON file (one scaler per fold). */
  scalers: string;
  /** `fold-<k>/model.json`, `fold-<k>/weights.bin` → the file. */
  folds: Record<string, string>;
  /** The x grid the curves were sampled on (the mean over the training curves of X). */
  grid: number[];
}

export interface TrackedDataset {
  /** The cache entry's key: the content address of exactly these arrays. */
  key: string;
  /** Output name → its shape and dtype. */
  arrays: Record<string, { shape: number[]; dtype: string }>;
  bytes: number;
}
