import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { Layout } from '../../cache/layout.js';
import { acquireLock, type HeldLock } from '../../cache/lock.js';
import type { RunRecord } from '../run-record.js';
import { authFromEnv, type Env } from './auth.js';
import { MlflowClient } from './client.js';
import { MlflowError } from './errors.js';
import { mapFinish, mapStage, mapStart, newMappingState, type Mapped, type MappingContext } from './mapping.js';
import { RUN_SCOPE, type SpooledOp } from './ops.js';
import type { Clock, RetryPolicy } from './retry.js';
import { SpoolSender, type DrainResult } from './sender.js';
import { appendOps, lockPath, newState, spoolPath, statePath, writeState } from './spool.js';
import { parseTrackingUri, runUrl, splitTrackingUri } from './uri.js';

export interface TrackerOptions {
  layout: Layout;
  /** `mlflow.user`; default the OS user. */
  user?: string;
  /** The MLflow run's name; default `<pipeline> <short run hash>`. */
  runName?: string;
  /** How long `finish` waits for the queue to drain. Default 15 s. */
  flushTimeoutMs?: number;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  /** One line per notable event (server unreachable, back, an op refused). */
  log?: (line: string) => void;
  /** Tests: a ready client. */
  client?: MlflowClient;
  /** Tests: see SenderOptions.afterSend. */
  afterSend?: (op: SpooledOp) => void | Promise<void>;
}

export interface FinishResult {
  /** Every operation reached the server (some may have been refused: see `rejected`). */
  synced: boolean;
  /** Operations still in the spool, for `paramflow sync`. */
  pending: number;
  rejected: number;
  /** The MLflow run id, once created. */
  runId?: string;
  url?: string;
  /** One line for the user: where the run is, or that tracking is pending. */
  message: string;
}

const PAUSE_MS = [2_000, 5_000, 15_000, 60_000];

// "Never in the way": logs a run to MLflow from a background queue. Each call maps the
// run onto MLflow operations, appends them to the spool, and returns at once; a queue
// sends them in order. A dead or failing server pauses the queue, never the run;
// `finish` waits a bounded time and leaves the rest to `paramflow sync`.
export class MlflowTracker {
  private readonly mapping = newMappingState();
  private readonly spooled: SpooledOp[] = [];
  private nextSeq = 1;
  private appends: Promise<void> = Promise.resolve();
  private sending: Promise<DrainResult> | undefined;
  private pauseIndex = -1;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private record?: RunRecord;
  private sender?: SpoolSender;
  private lock?: HeldLock;
  private spoolError?: Error;
  private skipped = new Set<string>();
  private finished?: Promise<FinishResult>;

  private constructor(
    private readonly client: MlflowClient,
    private readonly o: TrackerOptions,
  ) {}

  /**
   * A tracker for `uri` (the pipeline's resolved tracking URI: MLFLOW_TRACKING_URI, else
   * `tracking.uri`), or undefined when there is none. Credentials come from `env`.
   * Throws a bad-input ParamflowError for `file:` and other non-http URIs: call it before
   * the run starts.
   */
  static fromEnv(env: Env, uri: string | undefined, options: TrackerOptions): MlflowTracker | undefined {
    if (!uri) return undefined;
    const parts = splitTrackingUri(parseTrackingUri(uri));
    const client =
      options.client ??
      new MlflowClient({ uri, auth: authFromEnv(env, parts), timeoutMs: options.timeoutMs, retry: options.retry, clock: options.clock });
    return new MlflowTracker(client, options);
  }

  /** Call once the run record exists (status RUNNING, stage keys known). */
  start(record: RunRecord): void {
    this.record = record;
    const { layout } = this.o;
    this.sender = new SpoolSender(
      { client: this.client, layout, runId: record.runId, retry: this.o.retry, log: this.o.log, afterSend: this.o.afterSend },
      newState(this.client.server),
    );
    this.appends = (async () => {
      await mkdir(layout.run(record.runId), { recursive: true });
      this.lock = await acquireLock(lockPath(layout, record.runId), { purpose: `${record.runId} mlflow` });
      await writeState(statePath(layout, record.runId), this.sender!.state);
    })().catch((err) => this.spoolFailed(err));
    this.enqueue(() => mapStart(record, this.ctx(record), this.mapping));
  }

  /** Call when a stage has finished, executed or cached; `artifacts` are files to upload (plots, model files). */
  stage(record: RunRecord, stageName: string, artifacts: readonly { path: string; file: string }[] = []): void {
    if (!this.sender) return;
    const files = artifacts.map((a) => ({ path: a.path, file: this.projectPath(a.file) }));
    this.enqueue(() => mapStage(record, stageName, files, this.ctx(record), this.mapping));
  }

  /** Call after the final run.json is written. Never throws; waits at most `flushTimeoutMs`. */
  finish(record: RunRecord): Promise<FinishResult> {
    this.finished ??= this.flush(record);
    return this.finished;
  }

  private async flush(record: RunRecord): Promise<FinishResult> {
    if (!this.sender) return { synced: false, pending: 0, rejected: 0, message: 'MLflow tracking was not started' };
    const sender = this.sender;
    this.enqueue(() => mapFinish(record, this.ctx(record), this.mapping));
    await this.appends;
    this.flushing = true;
    clearTimeout(this.timer);
    const timeout = this.o.flushTimeoutMs ?? 15_000;
    sender.deadline = this.client.http.clock.now() + timeout;
    const stop = setTimeout(() => sender.abort.abort(), timeout);
    try {
      // A drain already running may fail on its old retries: then one fresh drain, no more.
      let fresh = false;
      for (;;) {
        if (!this.sending) {
          if (this.pendingCount() === 0) break;
          this.kick();
          if (!this.sending) break;
          fresh = true;
        }
        const r = await this.sending;
        if (sender.abort.signal.aborted || (r?.error && fresh)) break;
      }
    } finally {
      clearTimeout(stop);
    }
    const pending = this.pendingCount() + (this.spoolError ? 1 : 0);
    await (pending === 0 ? this.client.close() : this.client.destroy()).catch(() => undefined);
    await this.lock?.release();
    const run = sender.state.runs[RUN_SCOPE];
    const url = run && sender.state.experimentId ? runUrl(this.client.server, sender.state.experimentId, run.runId) : undefined;
    const rejected = sender.state.rejected.length;
    const message =
      pending === 0
        ? `logged to MLflow${url ? `: ${url}` : ''}${rejected ? ` (${rejected} operations refused: see mlflow-sync.json)` : ''}`
        : `tracking pending (${pending} operations spooled)${sender.state.lastError ? `: ${sender.state.lastError}` : ''}; \`paramflow sync\` sends them`;
    return { synced: pending === 0, pending, rejected, ...(run ? { runId: run.runId } : {}), ...(url ? { url } : {}), message };
  }

  // Maps now (the record as it is at this call), writes and spools later, in call order.
  private enqueue(map: () => Mapped): void {
    let mapped: Mapped;
    try {
      mapped = map();
    } catch (err) {
      this.spoolFailed(err);
      return;
    }
    this.appends = this.appends
      .then(async () => {
        if (this.spoolError) return;
        for (const k of mapped.skipped) {
          if (!this.skipped.has(k)) this.o.log?.(`MLflow: left out \`${k}\`, a name MLflow refuses`);
          this.skipped.add(k);
        }
        for (const f of mapped.files) {
          const abs = join(this.o.layout.root, f.file);
          await mkdir(dirname(abs), { recursive: true });
          await writeFile(abs, f.content);
        }
        const ops = mapped.ops.map((op) => ({ ...op, seq: this.nextSeq++ }) as SpooledOp);
        await appendOps(spoolPath(this.o.layout, this.record!.runId), ops);
        this.spooled.push(...ops);
        this.kick();
      })
      .catch((err) => this.spoolFailed(err));
  }

  private kick(): void {
    if (this.sending || !this.sender) return;
    if (!this.flushing && this.client.http.clock.now() < this.pausedUntil) return;
    const sender = this.sender;
    this.sending = sender.drain(() => this.spooled).then((r) => {
      this.sending = undefined;
      if (r.error) this.pause(r.error);
      else if (this.pauseIndex >= 0) {
        this.pauseIndex = -1;
        this.o.log?.('MLflow: the server answers again; spooled operations sent');
      }
      if (!r.error && !this.flushing && this.pendingCount() > 0) this.kick();
      return r;
    });
  }

  private pause(err: Error): void {
    if (this.flushing) return;
    if (this.pauseIndex < 0) {
      const why = err instanceof MlflowError ? err.describe() : err.message;
      this.o.log?.(`MLflow: ${why}; spooling to ${relative(this.o.layout.root, spoolPath(this.o.layout, this.record!.runId))}, the run goes on`);
    }
    this.pauseIndex = Math.min(this.pauseIndex + 1, PAUSE_MS.length - 1);
    const ms = PAUSE_MS[this.pauseIndex]!;
    this.pausedUntil = this.client.http.clock.now() + ms;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  private spoolFailed(err: unknown): void {
    if (this.spoolError) return;
    this.spoolError = err as Error;
    this.o.log?.(`MLflow: cannot write the spool (${(err as Error).message}); tracking stops for this run`);
  }

  private pendingCount(): number {
    const acked = this.sender?.state.acked ?? 0;
    return this.spooled.filter((op) => op.seq > acked).length;
  }

  private ctx(record: RunRecord): MappingContext {
    return {
      user: this.o.user ?? osUser(),
      runDir: relative(this.o.layout.root, this.o.layout.run(record.runId)).split(sep).join('/'),
      now: Date.now(),
      ...(this.o.runName ? { runName: this.o.runName } : {}),
    };
  }

  private projectPath(file: string): string {
    if (!isAbsolute(file)) return file.split(sep).join('/');
    const rel = relative(this.o.layout.root, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
  }
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}
