import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Layout } from '../../project/layout.js';
import { acquireLock, type HeldLock } from '../../project/lock.js';
import type { MlflowClient } from './client.js';
import { MlflowError } from './errors.js';
import type { Mapped } from './mapped-ops.js';
import type { SpooledOp } from './ops.js';
import type { RetryPolicy } from './retry.js';
import { SpoolSender, type DrainResult, type ParentResolver } from './sender.js';
import { appendOps, newState, writeState, type SpoolFiles } from './spool.js';
import { runUrl } from './uri.js';
import { refusedText } from './refused.js';

export interface QueueOptions {
  client: MlflowClient;
  layout: Layout;
  /** Where this spool lives (a run's folder, or a sweep's). */
  files: SpoolFiles;
  /** The tag naming what is logged, to find its runs again after a lost answer. */
  identity: { tag: string; value: string };
  /** The scope whose MLflow run the result names (`run`, `sweep`). */
  mainScope: string;
  /** What holds the spool's lock, for a process waiting on it. */
  purpose: string;
  /** How long `flush` waits for the queue to drain. Default 15 s. */
  flushTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  log?: (line: string) => void;
  resolveParent?: ParentResolver;
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

// "Never in the way", for one spool: mapped operations are appended to the spool in call
// order and sent by a background queue. A dead or failing server pauses the queue, never
// the caller; `flush` waits a bounded time and leaves the rest to `paramflow sync`.
// MlflowTracker (a run) and SweepTracker (a sweep's parent run) are built on it.
export class SpoolQueue {
  private readonly spooled: SpooledOp[] = [];
  private nextSeq = 1;
  private appends: Promise<void> = Promise.resolve();
  private sending: Promise<DrainResult> | undefined;
  private pauseIndex = -1;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private readonly sender: SpoolSender;
  private lock?: HeldLock;
  private spoolError?: Error;
  private readonly skipped = new Set<string>();
  private flushed?: Promise<FinishResult>;

  /** Takes the spool's lock and writes its sync state (in the background: errors stop tracking, never the caller). */
  constructor(private readonly o: QueueOptions) {
    const { client, layout, files, identity, retry, log, afterSend, resolveParent } = o;
    const sender = new SpoolSender(
      { client, layout, statePath: files.state, identity, retry, log, afterSend, resolveParent },
      newState(client.server),
    );
    this.sender = sender;
    this.appends = (async () => {
      await mkdir(files.dir, { recursive: true });
      this.lock = await acquireLock(files.lock, { purpose: o.purpose });
      await writeState(files.state, sender.state);
    })().catch((err) => this.spoolFailed(err));
  }

  /** Maps now (the caller's data as it is at this call), writes and spools later, in call order. */
  enqueue(map: () => Mapped | Promise<Mapped>): void {
    let mapped: Mapped | Promise<Mapped>;
    try {
      mapped = map();
    } catch (err) {
      this.spoolFailed(err);
      return;
    }
    if (mapped instanceof Promise) mapped.catch(() => undefined); // handled below, in order
    this.appends = this.appends
      .then(async () => {
        const m = await mapped;
        if (this.spoolError) return;
        for (const k of m.skipped) {
          if (!this.skipped.has(k)) this.o.log?.(`MLflow: left out \`${k}\`, a name MLflow refuses`);
          this.skipped.add(k);
        }
        for (const f of m.files) {
          const abs = join(this.o.layout.root, f.file);
          await mkdir(dirname(abs), { recursive: true });
          await writeFile(abs, f.content);
        }
        const ops = m.ops.map((op) => ({ ...op, seq: this.nextSeq++ }) as SpooledOp);
        await appendOps(this.o.files.spool, ops);
        this.spooled.push(...ops);
        this.kick();
      })
      .catch((err) => this.spoolFailed(err));
  }

  /** Resolves when what was enqueued so far is in the spool (never rejects, never waits for the server). */
  settled(): Promise<void> {
    return this.appends;
  }

  /** The MLflow id of `scope`'s run, once the server created it. */
  runId(scope: string): string | undefined {
    return this.sender.state.runs[scope]?.runId;
  }

  /** Spools `last`, then waits at most `flushTimeoutMs` for the queue to drain. Never throws; once. */
  flush(last: () => Mapped): Promise<FinishResult> {
    if (!this.flushed) {
      this.enqueue(last);
      this.flushed = this.drainAll();
    }
    return this.flushed;
  }

  private async drainAll(): Promise<FinishResult> {
    const sender = this.sender;
    await this.appends;
    this.flushing = true;
    clearTimeout(this.timer);
    // A server that already failed during the run gets one short last try, not the full
    // wait: the run should not hang on its way out when tracking is off-line anyway. That
    // includes a send still backing off from its first failures (a refused connection).
    const failed = this.pauseIndex >= 0 || sender.retrying;
    const timeout = Math.min(this.o.flushTimeoutMs ?? 15_000, failed ? 2_000 : Infinity);
    sender.deadline = this.o.client.http.clock.now() + timeout;
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
    await (pending === 0 ? this.o.client.close() : this.o.client.destroy()).catch(() => undefined);
    await this.lock?.release();
    const run = sender.state.runs[this.o.mainScope];
    const url =
      run && sender.state.experimentId ? runUrl(this.o.client.server, sender.state.experimentId, run.runId) : undefined;
    const rejected = sender.state.rejected.length;
    const message =
      pending === 0
        ? `logged to MLflow${url ? `: ${url}` : ''}${rejected ? `, but ${refusedText(rejected, this.o.identity.value)}` : ''}`
        : `tracking pending (${pending} operations spooled)${sender.state.lastError ? `: ${sender.state.lastError}` : ''}; \`paramflow sync\` sends them${rejected ? `; ${refusedText(rejected, this.o.identity.value)}` : ''}`;
    return {
      synced: pending === 0,
      pending,
      rejected,
      ...(run ? { runId: run.runId } : {}),
      ...(url ? { url } : {}),
      message,
    };
  }

  private kick(): void {
    if (this.sending) return;
    if (!this.flushing && this.o.client.http.clock.now() < this.pausedUntil) return;
    const sender = this.sender;
    this.sending = sender
      .drain(() => this.spooled)
      .then((r) => {
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
      this.o.log?.(
        `MLflow: ${why}; spooling to ${relative(this.o.layout.root, this.o.files.spool)}, the ${this.o.mainScope === 'sweep' ? 'sweep' : 'run'} goes on`,
      );
    }
    this.pauseIndex = Math.min(this.pauseIndex + 1, PAUSE_MS.length - 1);
    const ms = PAUSE_MS[this.pauseIndex]!;
    this.pausedUntil = this.o.client.http.clock.now() + ms;
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
    const acked = this.sender.state.acked;
    return this.spooled.filter((op) => op.seq > acked).length;
  }
}
