import { isAbsolute, relative, sep } from 'node:path';
import type { RunRecord } from '../run-record.js';
import type { RunTracker, TrackedOutputs } from '../run-tracker.js';
import { loaderSource } from './loader-source.js';
import { mapDataset, mapModel } from './model-mapping.js';
import type { Env } from './auth.js';
import { clientFromEnv, type MlflowClient } from './client.js';
import { mapFinish, mapFolds, mapStage, mapStart, newMappingState, type MappingContext } from './mapping.js';
import type { FoldEvent } from '../../stage-contract/types.js';
import type { ParentRef } from './ops.js';
import type { FinishResult, SpoolQueue } from './queue.js';
import { sweepLinkFromEnv, waitForSweepRun } from './sweep.js';
import { NOT_STARTED, openQueue, type BaseTrackerOptions } from './tracker-options.js';
import { osUser } from './user.js';

export type { FinishResult } from './queue.js';

/** What every tracker (a run's, a sweep's) is built with. */
export interface TrackerOptions extends BaseTrackerOptions {
  /** The MLflow run's name; default `<pipeline> <short run hash>`. */
  runName?: string;
  /** The run is a sweep's trial: nest it under the sweep's MLflow run (see sweep.ts). */
  parent?: ParentRef;
  /** How often a training fold's epochs are sent at most. Default 2 s. */
  streamMs?: number;
}

// "Never in the way": logs a run to MLflow from a background queue. Each call maps the
// run onto MLflow operations, appends them to the spool, and returns at once; a queue
// sends them in order. A dead or failing server pauses the queue, never the run;
// `finish` waits a bounded time and leaves the rest to `paramflow sync`.
export class MlflowTracker implements RunTracker {
  private readonly mapping = newMappingState();
  private pendingFolds?: { stage: string; events: FoldEvent[] };
  private foldsSentAt = 0;
  private queue?: SpoolQueue;
  private finished?: Promise<FinishResult>;

  private constructor(
    private readonly client: MlflowClient,
    private readonly o: TrackerOptions,
  ) {}

  /**
   * A tracker for `uri` (the pipeline's resolved tracking URI: MLFLOW_TRACKING_URI, else
   * `tracking.uri`), or undefined when there is none. Credentials come from `env`, and so
   * does the sweep a trial's worker is nested under (PARAMFLOW_MLFLOW_PARENT, set by the
   * sweep: its run name and parent reference) unless `options` name them.
   * Throws a bad-input ParamflowError for `file:` and other non-http URIs: call it before
   * the run starts.
   */
  static fromEnv(env: Env, uri: string | undefined, options: TrackerOptions): MlflowTracker | undefined {
    if (!uri) return undefined;
    const client = clientFromEnv(env, uri, options);
    const link = sweepLinkFromEnv(env);
    const parent: ParentRef | undefined = link
      ? {
          sweep: link.sweep,
          ...(link.server !== undefined ? { server: link.server } : {}),
          ...(link.parentRunId ? { runId: link.parentRunId } : {}),
        }
      : undefined;
    return new MlflowTracker(client, link && parent ? { runName: link.runName, parent, ...options } : options);
  }

  /** Call once the run record exists (status RUNNING, stage keys known). */
  start(record: RunRecord): void {
    const target = { kind: 'run', id: record.runId } as const;
    this.queue = openQueue(this.client, this.o, target, this.o.parent ? waitForSweepRun(this.o.layout) : undefined);
    this.queue.enqueue(() => mapStart(record, this.ctx(record), this.mapping));
  }

  /**
   * A fold's event while its stage trains. Epochs are sent in batches at most every
   * `streamMs` (a fold's start and end at once): a fast study would otherwise make a request
   * per epoch, a slow one still shows its curves growing.
   */
  fold(record: RunRecord, stageName: string, event: FoldEvent): void {
    if (!this.queue) return;
    const pending = this.pendingFolds;
    if (pending && pending.stage !== stageName) this.sendFolds(record);
    (this.pendingFolds ??= { stage: stageName, events: [] }).events.push(event);
    const now = Date.now();
    if (event.phase !== 'epoch' || now - this.foldsSentAt >= (this.o.streamMs ?? 2_000)) this.sendFolds(record);
  }

  private sendFolds(record: RunRecord): void {
    const pending = this.pendingFolds;
    this.pendingFolds = undefined;
    this.foldsSentAt = Date.now();
    if (!pending || !this.queue) return;
    this.queue.enqueue(() => mapFolds(record, pending.stage, pending.events, this.ctx(record), this.mapping));
  }

  /** Call when a stage has finished, executed or cached; `artifacts` are files to upload (plots, model files). */
  stage(
    record: RunRecord,
    stageName: string,
    artifacts: readonly { path: string; file: string }[] = [],
    outputs: TrackedOutputs = {},
  ): void {
    if (!this.queue) return;
    this.sendFolds(record);
    const files = artifacts.map((a) => ({ path: a.path, file: this.projectPath(a.file) }));
    this.queue.enqueue(() => mapStage(record, stageName, files, this.ctx(record), this.mapping));
    const { model, dataset } = outputs;
    const s = record.stages[stageName];
    if (dataset && s) this.queue.enqueue(() => mapDataset(stageName, s, dataset));
    if (model) {
      const local = {
        scalers: this.projectPath(model.scalers),
        folds: Object.fromEntries(Object.entries(model.folds).map(([p, f]) => [p, this.projectPath(f)])),
        grid: model.grid,
      };
      this.queue.enqueue(async () =>
        mapModel(record, stageName, local, this.ctx(record).runDir, await loaderSource(), this.o.runName),
      );
    }
  }

  /** Call after the final run.json is written. Never throws; waits at most `flushTimeoutMs`. */
  finish(record: RunRecord): Promise<FinishResult> {
    if (!this.queue) return Promise.resolve(NOT_STARTED);
    this.sendFolds(record); // a run that failed mid-fold: what it trained is kept
    this.finished ??= this.queue.flush(() => mapFinish(record, this.ctx(record), this.mapping));
    return this.finished;
  }

  private ctx(record: RunRecord): MappingContext {
    return {
      user: this.o.user ?? osUser(),
      runDir: relative(this.o.layout.root, this.o.layout.run(record.runId)).split(sep).join('/'),
      now: Date.now(),
      ...(this.o.runName ? { runName: this.o.runName } : {}),
      ...(this.o.parent ? { parent: this.o.parent } : {}),
    };
  }

  private projectPath(file: string): string {
    if (!isAbsolute(file)) return file.split(sep).join('/');
    const rel = relative(this.o.layout.root, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
  }
}
