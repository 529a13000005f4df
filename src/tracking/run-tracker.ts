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
  /** A stage ended: its status, metrics and the files worth keeping beside the run. */
  stage(record: RunRecord, stageName: string, artifacts?: readonly { path: string; file: string }[]): void;
  /** The run ended: `message` says where it was logged, `synced` whether everything arrived. */
  finish(record: RunRecord): Promise<{ message: string; synced: boolean }>;
}
