import type { RunStatus } from '../run-record.js';
import type { DatasetInput } from './model-api.js';
import type { KeyValue, Metric } from './types.js';

// What paramflow asks of MLflow for one local run, as data: spooled one JSON line each,
// then replayed in order. Runs are named by local scope (`run`, `fold-0`, …); their
// MLflow ids are only known once `create-run` went through, and live in the sync state.

/** The MLflow run that stands for the whole pipeline run. */
export const RUN_SCOPE = 'run';

export const foldScope = (fold: number): string => `fold-${fold}`;

/** The MLflow run that stands for a whole sweep (in the sweep's own spool). */
export const SWEEP_SCOPE = 'sweep';

/**
 * A parent run living in another spool: the sweep's run, named symbolically because its
 * MLflow id may not exist yet when a trial's worker spools its create-run (the server was
 * down). The sender resolves it from the sweep's sync state when it sends the op.
 */
export interface ParentRef {
  sweep: string;
  /**
   * Set when the worker runs in another project folder (a queue worker on another machine),
   * where the sweep's sync state is not: the sweep's server, and its run's MLflow id there
   * if the sweep's process had it (it waits a little for it); without the id, `paramflow
   * sync` looks the run up on the server by its tags.
   */
  server?: string;
  runId?: string;
}

/** The parent's id the sweep sent along (ParentRef.runId), if any; it must be on the server this run logs to. */
export function linkedRunId(ref: ParentRef, server: string): string | undefined {
  if (!ref.runId) return undefined;
  if (ref.server !== undefined && ref.server !== server)
    throw new Error(`the sweep ${ref.sweep} is logged to ${ref.server}, this run to ${server}`);
  return ref.runId;
}

export type TrackOp =
  | { op: 'experiment'; name: string }
  | {
      op: 'create-run';
      scope: string;
      /**
       * The parent run, whose MLflow id becomes the `mlflow.parentRunId` tag: a scope of
       * this spool (a fold's run), or a reference to a sweep's run (a trial's run).
       */
      parent?: string | ParentRef;
      runName: string;
      startTime: number;
      userId?: string;
      tags: KeyValue[];
    }
  /** One request's worth (see splitBatch). */
  | { op: 'log-batch'; scope: string; metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }
  | {
      op: 'artifact';
      scope: string;
      /** Where it goes under the run's artifacts (`plots/fold-0.png`). */
      path: string;
      /** The local file, relative to the project root (absolute when outside it); read when sent. */
      file: string;
      contentType: string;
    }
  | { op: 'update-run'; scope: string; status: RunStatus; endTime: number }
  /** Datasets the run used (`runs/log-inputs`): the server keeps one per name and digest. */
  | { op: 'log-inputs'; scope: string; datasets: { dataset: DatasetInput; tags: KeyValue[] }[] }
  | {
      /**
       * An MLflow 3 logged model made from the run (its files also went up as run artifacts
       * under `model/`): created, its files uploaded, made READY and linked as the run's output.
       * A server without logged models skips it, saying so.
       */
      op: 'logged-model';
      scope: string;
      name: string;
      modelType: string;
      /** Path inside the model → the local file (as `artifact` ops name them). */
      files: { path: string; file: string }[];
    };

export type SpooledOp = TrackOp & { seq: number };

/** A file the tracker writes into the run's folder before spooling an op that uploads it. */
export interface GeneratedFile {
  /** Relative to the project root, as the artifact op names it. */
  file: string;
  content: string;
}

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  svg: 'image/svg+xml',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  json: 'application/json',
  yaml: 'application/x-yaml',
  yml: 'application/x-yaml',
  txt: 'text/plain',
  log: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
};

export function contentTypeOf(path: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
