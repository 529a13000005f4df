import { setTimeout as delay } from 'node:timers/promises';
import type { Layout } from '../../project/layout.js';
import type { SweepRecord } from '../sweep-record.js';
import { packageVersion } from '../../util/package-root.js';
import { gitState } from '../environment.js';
import type { Env } from './auth.js';
import { clientFromEnv, type MlflowClient } from './client.js';
import { linkedRunId, SWEEP_SCOPE } from './ops.js';
import type { FinishResult, SpoolQueue } from './queue.js';
import type { ParentResolver } from './sender.js';
import { readState, spoolOf } from './spool.js';
import { mapSweepFinish, mapSweepStart, sweepDirOf, trialNamer, type SweepContext } from './sweep-mapping.js';
import { mlflowState, syncTarget } from './sync.js';
import { osUser } from './user.js';
import { NOT_STARTED, openQueue, type BaseTrackerOptions } from './tracker-options.js';

// A sweep in MLflow: the parent run, logged by the sweep's own process through its own
// spool (`.paramflow/sweeps/<sweep-id>/mlflow-spool.jsonl` and `mlflow-sync.json`), and
// the link its trial workers get to nest their runs under it.
//
// The link is symbolic. A worker's spooled create-run names its parent as
// `parent: { sweep: <sweep-id> }`, never as an MLflow id: the id may not exist yet (the
// server is down, or the parent's create-run is still queued). Whoever sends the op
// resolves the reference from the sweep's sync state, the one place the id is recorded:
// the worker's queue waits a little for the sweep process to create the parent, and
// `paramflow sync` syncs the sweep's spool first (or on demand, for `sync <run>`). So
// replaying is idempotent and order-proof, and no process ever writes another's spool.
// A worker in another project folder (a queue worker, another machine) cannot read the
// sweep's sync state: for it the sweep process waits (bounded) for the id and sends it in
// the link (`parentRunId`, with the server it belongs to).

/** Set by the sweep for each worker: JSON `{ sweep, runName, parentRunId?, server? }` (see sweepLinkFromEnv). */
export const PARENT_ENV = 'PARAMFLOW_MLFLOW_PARENT';

export interface SweepLink {
  /** The sweep whose MLflow run is the parent. */
  sweep: string;
  /** The trial replicate's run name (`batch_size=16 relative=0.05`). */
  runName: string;
  /** Set when the worker runs in another project folder, where the sweep's sync state is not: the sweep's server (no credentials). */
  server?: string;
  /** With `server`: the sweep's MLflow run id there, when the sweep had it (see ParentRef). */
  parentRunId?: string;
}

/** The link a sweep gave this worker, if any (malformed: none, the run is logged on its own). */
export function sweepLinkFromEnv(env: Env): SweepLink | undefined {
  const raw = env[PARENT_ENV];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<SweepLink>;
    if (typeof v.sweep !== 'string' || !/^[0-9a-z-]+$/.test(v.sweep) || typeof v.runName !== 'string') return undefined;
    const elsewhere = typeof v.server === 'string';
    const byId = elsewhere && typeof v.parentRunId === 'string' && /^[0-9A-Za-z_-]+$/.test(v.parentRunId);
    return {
      sweep: v.sweep,
      runName: v.runName,
      ...(elsewhere ? { server: v.server } : {}),
      ...(byId ? { parentRunId: v.parentRunId } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * A worker's resolver: the sweep's MLflow run id from its sync state, waiting up to
 * `waitMs` for the sweep process to create it (it does at once when the server answers).
 * Stops waiting when the sweep's own queue has failed (the server is down): the op then
 * stays spooled, and a later drain or `paramflow sync` resolves it.
 */
export function waitForSweepRun(layout: Layout, { waitMs = 10_000, pollMs = 100 } = {}): ParentResolver {
  return async (ref, ctx) => {
    const given = linkedRunId(ref, ctx.server);
    if (given) return given;
    const { files } = spoolOf(layout, { kind: 'sweep', id: ref.sweep });
    // The sweep runs from another folder and could not send the id (its server was down):
    // its sync state will never be here, no wait helps; `paramflow sync` finds the run later.
    if (ref.server !== undefined)
      throw new Error(`the sweep ${ref.sweep} runs from another folder and had no MLflow id for its run yet`);
    const end = Math.min(Date.now() + waitMs, ctx.deadline ?? Infinity);
    for (;;) {
      const st = await readState(files.state).catch(() => undefined);
      const run = st?.runs[SWEEP_SCOPE];
      if (run && st) {
        if (st.server !== ctx.server)
          throw new Error(`the sweep ${ref.sweep} is logged to ${st.server}, this run to ${ctx.server}`);
        return run.runId;
      }
      if (st?.lastError || ctx.signal.aborted || Date.now() + pollMs > end) {
        throw new Error(
          `the sweep's MLflow run (${ref.sweep}) is not created yet${st?.lastError ? ` (${st.lastError})` : ''}`,
        );
      }
      await delay(pollMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  };
}

export interface SweepTrackerOptions extends BaseTrackerOptions {
  /** After the parent is synced, how long `finish` may spend sending trial runs left pending (their parent was missing). Default 5 s; 0: none. */
  trialSyncMs?: number;
}

// The parent run of a sweep, "never in the way" like MlflowTracker: spooled first, sent
// by a background queue, a bounded wait at the end, the rest left to `paramflow sync`.
export class SweepTracker {
  private queue?: SpoolQueue;
  private ctx?: SweepContext;
  private names?: (trial: { id: string; values: Record<string, unknown> }, replicate: number) => string;
  private record?: SweepRecord;
  private finished?: Promise<FinishResult>;
  private parent?: Promise<{ runId?: string; server: string }>;

  private constructor(
    private readonly client: MlflowClient,
    private readonly env: Env,
    private readonly uri: string,
    private readonly o: SweepTrackerOptions,
  ) {}

  /** As MlflowTracker.fromEnv: undefined without a URI, a bad-input error for `file:` and other non-http URIs. */
  static fromEnv(env: Env, uri: string | undefined, options: SweepTrackerOptions): SweepTracker | undefined {
    if (!uri) return undefined;
    const client = clientFromEnv(env, uri, options);
    return new SweepTracker(client, env, uri, options);
  }

  /**
   * Spools the parent run (its create-run first). Resolves once the sweep's spool exists,
   * which workers look for: await it before starting them. Never waits for the server.
   * `resolved`: the base pipeline, for the sweep's identity hash.
   */
  async start(record: SweepRecord, resolved?: Record<string, unknown>): Promise<void> {
    const { layout } = this.o;
    this.record = record;
    this.names = trialNamer(record.trials, record.spec.replicates, record.spec);
    const ctx: SweepContext = {
      user: this.o.user ?? osUser(),
      sweepDir: sweepDirOf(layout, record.sweepId),
      now: Date.now(),
      ...(resolved ? { resolved } : {}),
      version: packageVersion(),
    };
    this.ctx = ctx;
    this.queue = openQueue(this.client, this.o, { kind: 'sweep', id: record.sweepId });
    const git = gitState(layout.root);
    this.queue.enqueue(async () => mapSweepStart(record, { ...ctx, git: await git }));
    await this.queue.settled();
  }

  /**
   * The environment a trial replicate's worker needs to nest its run under this sweep's
   * (PARAMFLOW_MLFLOW_PARENT). `byId`: the sweep's MLflow run id is sent along, for a
   * worker in another project folder (see parentRun).
   */
  workerEnv(
    trial: { id: string; values: Record<string, unknown> },
    replicate: number,
    elsewhere?: { runId?: string; server: string },
  ): Record<string, string> {
    if (!this.record || !this.names) return {};
    const link: SweepLink = {
      sweep: this.record.sweepId,
      runName: this.names(trial, replicate),
      ...(elsewhere ? { server: elsewhere.server } : {}),
      ...(elsewhere?.runId ? { parentRunId: elsewhere.runId } : {}),
    };
    return { [PARENT_ENV]: JSON.stringify(link) };
  }

  /**
   * The sweep's server and MLflow run id, once its create-run went through: waits up to
   * `waitMs` the first time (less when the server is found down), then answers at once.
   * No id when it could not be had: the workers' runs then stay spooled until
   * `paramflow sync` in their folders finds the sweep's run on the server.
   */
  parentRun(waitMs = 10_000): Promise<{ runId?: string; server: string }> {
    const server = this.client.server;
    if (!this.record) return Promise.resolve({ server });
    const sweep = this.record.sweepId;
    this.parent ??= waitForSweepRun(this.o.layout, { waitMs })(
      { sweep },
      { server, signal: new AbortController().signal },
    ).then(
      (runId) => (runId ? { runId, server } : { server }),
      (err: Error) => {
        this.o.log?.(
          `MLflow: ${err.message}; the trials' runs wait on their workers for \`paramflow sync\` (here first, then in each worker's folder)`,
        );
        return { server };
      },
    );
    return this.parent;
  }

  /**
   * Call once the sweep's final record is written: logs the best trial and the status,
   * waits at most `flushTimeoutMs`, then (parent synced) sends briefly what trial runs
   * could not while their parent was missing. Never throws.
   */
  finish(record: SweepRecord, plots: readonly string[] = []): Promise<FinishResult> {
    if (!this.queue || !this.ctx) return Promise.resolve(NOT_STARTED);
    const queue = this.queue;
    const ctx = this.ctx;
    this.finished ??= (async () => {
      const bestMlflowRuns = await this.bestMlflowRuns(record);
      const result = await queue.flush(() =>
        mapSweepFinish(record, { ...ctx, now: Date.now(), bestMlflowRuns }, plots),
      );
      if (result.synced) await this.syncTrials(record).catch(() => undefined);
      return result;
    })();
    return this.finished;
  }

  /** The best trial's replicates' MLflow run ids, from their sync state in this folder. */
  private async bestMlflowRuns(record: SweepRecord): Promise<string[]> {
    const best = record.trials.find((t) => t.id === record.best?.trial);
    const ids: string[] = [];
    for (const r of best?.replicates ?? []) {
      if (!r.runId || r.status !== 'FINISHED') continue;
      const state = await mlflowState(this.o.layout, { kind: 'run', id: r.runId }).catch(() => undefined);
      if (state?.mlflowRunId) ids.push(state.mlflowRunId);
    }
    return ids;
  }

  private async syncTrials(record: SweepRecord): Promise<void> {
    const ms = this.o.trialSyncMs ?? 5_000;
    if (ms <= 0) return;
    const deadline = Date.now() + ms;
    const ids = record.trials.flatMap((t) => t.replicates.flatMap((r) => (r.runId ? [r.runId] : [])));
    let sent = 0;
    for (const id of ids) {
      if (Date.now() >= deadline) break;
      if ((await mlflowState(this.o.layout, { kind: 'run', id })).state !== 'pending') continue;
      const r = await syncTarget(
        this.o.layout,
        { kind: 'run', id },
        {
          env: this.env,
          uri: this.uri,
          deadline,
          retry: this.o.retry,
          ...(this.o.log ? { log: this.o.log } : {}),
        },
      );
      if (r.sent > 0) sent++;
      if (r.error && /cannot reach/.test(r.error)) break;
    }
    if (sent > 0) this.o.log?.(`MLflow: also sent the logging of ${sent} trial run(s) that waited for the sweep's run`);
  }
}
