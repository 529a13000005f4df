import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layout } from '../../project/layout.js';
import { acquireLock, type HeldLock } from '../../project/lock.js';
import type { SweepRecord } from '../sweep-record.js';
import { isOwnerDead } from '../../util/process-alive.js';
import { RunStore } from '../run-store.js';
import type { RunStatus } from '../run-record.js';
import type { Env } from './auth.js';
import { clientFromEnv, type MlflowClient } from './client.js';
import { MlflowError } from './errors.js';
import { linkedRunId, SWEEP_SCOPE, type SpooledOp } from './ops.js';
import type { Clock, RetryPolicy } from './retry.js';
import { SpoolSender, type ParentResolver } from './sender.js';
import {
  newState,
  readSpool,
  readState,
  sweepDir,
  queueTarget,
  spoolOf,
  writeState,
  type SpoolFiles,
  type TrackedTarget,
} from './spool.js';
import { redactUri } from './uri.js';
import { appendFinalStatus, endOf, hasFinalStatus } from './final-status.js';
import { mlflowState, spoolState, type MlflowRunState, type SyncStateName } from './sync-state.js';

export { mlflowState, type MlflowRunState, type SyncStateName } from './sync-state.js';

export interface SyncOptions {
  /** Credentials and MLFLOW_TRACKING_URI. Default process.env. */
  env?: Env;
  /** The server to send to; default MLFLOW_TRACKING_URI, else the one the run was logged to. */
  uri?: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  signal?: AbortSignal;
  /** Epoch ms: stop sending then, leaving the rest pending (e.g. a background sync at the next run). */
  deadline?: number;
  log?: (line: string) => void;
  /** Tests: a ready client (not closed by sync). */
  client?: MlflowClient;
  /** Tests: see SenderOptions.afterSend. */
  afterSend?: (op: SpooledOp) => void | Promise<void>;
}

export interface SyncRunResult {
  /** The run id, or the sweep id for a sweep's own run. */
  runId: string;
  state: SyncStateName;
  /** Operations sent (and acknowledged) by this call. */
  sent: number;
  /** Operations the server refused for good, by this call. */
  rejected: number;
  /** Operations the server refused for good, in all (this call and earlier ones). */
  refused: number;
  /** Operations still spooled. */
  pending: number;
  mlflowRunId?: string;
  url?: string;
  /** Why the run was not (fully) synced. */
  error?: string;
}

/** One spool to replay: a run's, or a sweep's (its parent run). */
interface SpoolTarget {
  id: string;
  files: SpoolFiles;
  identity: { tag: string; value: string };
  mainScope: string;
  /** Its own process is still logging it. */
  running: boolean;
  /** How it ended, to close MLflow runs a dead process left RUNNING; undefined when unknown (no local record). */
  end?: { status: RunStatus; endTime: number };
}

// `paramflow sync`: replays what runs and sweeps spooled, from where each stopped. Idempotent:
// ops acknowledged are never resent, an op whose answer was lost is checked against the server
// first, so a second sync of a synced target sends nothing. A sweep's own run is synced before
// the runs of its trials, whose create-run ops name it.
export async function syncTarget(layout: Layout, t: TrackedTarget, options: SyncOptions = {}): Promise<SyncRunResult> {
  const record =
    t.kind === 'run' ? await new RunStore(layout).read(t.id).catch(() => undefined) : await readSweep(layout, t.id);
  const target: SpoolTarget = {
    id: t.id,
    ...queueTarget(layout, t),
    running: record?.status === 'RUNNING' && (t.kind === 'run' || !isOwnerDead(record as SweepRecord)),
    ...(record ? { end: endOf(record) } : {}),
  };
  // A trial's create-run names its sweep's run: find it (or wait for it) when the run is synced.
  return syncSpool(
    layout,
    target,
    options,
    t.kind === 'run' ? (client) => sweepParentResolver(layout, options, client) : undefined,
  );
}

async function syncSpool(
  layout: Layout,
  t: SpoolTarget,
  options: SyncOptions,
  resolver?: (client: MlflowClient) => ParentResolver,
): Promise<SyncRunResult> {
  const env = options.env ?? process.env;
  const spool = await readSpool(t.files.spool);
  if (spool.length === 0) return { runId: t.id, state: 'off', sent: 0, rejected: 0, refused: 0, pending: 0 };
  if (t.running) return { ...(await summary(t)), error: 'the run is still going: its own process is logging it' };
  const before = await summary(t);
  if (before.pending === 0 && (!t.end || hasFinalStatus(spool, t.mainScope))) return before;

  const explicit = options.uri ?? env.MLFLOW_TRACKING_URI;
  const saved = await readState(t.files.state);
  if (explicit && saved && saved.acked > 0 && redactUri(explicit) !== saved.server) {
    return {
      ...before,
      error: `${t.id} was logged to ${saved.server}, and MLFLOW_TRACKING_URI now names ${redactUri(explicit)}: point it back to finish the sync`,
    };
  }
  const uri = explicit ?? saved?.server;
  if (!uri) return { ...before, error: 'no MLflow server: set MLFLOW_TRACKING_URI' };

  const lock = await tryLock(t.files.lock);
  if (!lock) return { ...before, error: 'another paramflow process is syncing this run' };
  const client = clientFromEnv(env, uri, options);
  try {
    let ops = spool;
    if (t.end && !hasFinalStatus(spool, t.mainScope)) ops = await appendFinalStatus(t, t.end, spool);
    const state = saved ?? newState(client.server);
    state.server = client.server; // nothing acknowledged elsewhere (checked above): this server is the run's now
    const sender = new SpoolSender(
      {
        client,
        layout,
        statePath: t.files.state,
        identity: t.identity,
        retry: options.retry,
        log: options.log,
        afterSend: options.afterSend,
        ...(resolver ? { resolveParent: resolver(client) } : {}),
      },
      state,
    );
    if (options.signal) options.signal.addEventListener('abort', () => sender.abort.abort(), { once: true });
    sender.deadline = options.deadline;
    const stop =
      options.deadline === undefined
        ? undefined
        : setTimeout(() => sender.abort.abort(), Math.max(0, options.deadline - Date.now()));
    await writeState(t.files.state, state);
    const r = await sender.drain(() => ops).finally(() => clearTimeout(stop));
    const after = await summary(t);
    return {
      ...after,
      sent: r.sent,
      rejected: r.rejected,
      ...(r.error ? { error: r.error instanceof MlflowError ? r.error.describe() : r.error.message } : {}),
    };
  } finally {
    if (!options.client) await client.close().catch(() => undefined);
    await lock.release();
  }
}

// A trial's run names its parent as `{ sweep: <id> }`: the MLflow id is in the sweep's
// sync state, once the sweep's own spool went through, which is synced first if needed.
function sweepParentResolver(layout: Layout, options: SyncOptions, client: MlflowClient): ParentResolver {
  return async (ref, ctx) => {
    const given = linkedRunId(ref, ctx.server);
    if (given) return given;
    const { files } = spoolOf(layout, { kind: 'sweep', id: ref.sweep });
    let st = await readState(files.state);
    let why: string | undefined;
    if (!st?.runs[SWEEP_SCOPE]) {
      if ((await readSpool(files.spool)).length === 0) {
        // Run from another folder (a queue's submitter): its run may be on the server already.
        const found = ctx.experimentId ? await findSweepRun(client, ctx.experimentId, ref.sweep, ctx) : undefined;
        if (found) return found;
        options.log?.(
          `MLflow: sweep ${ref.sweep} has no MLflow spool here nor a run on the server; its trial's run is logged without a parent`,
        );
        return null;
      }
      const r = await syncTarget(
        layout,
        { kind: 'sweep', id: ref.sweep },
        {
          ...options,
          client,
          ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
        },
      );
      why = r.error;
      st = await readState(files.state);
    }
    const run = st?.runs[SWEEP_SCOPE];
    if (!run || !st)
      throw new Error(`the sweep's MLflow run (${ref.sweep}) is not created yet${why ? ` (${why})` : ''}`);
    if (st.server !== ctx.server)
      throw new Error(`the sweep ${ref.sweep} is logged to ${st.server}, this run to ${ctx.server}`);
    return run.runId;
  };
}

/** The sweep's run on the server, found by its paramflow tags (sweep ids are [0-9a-z-]: no quoting needed). */
async function findSweepRun(
  client: MlflowClient,
  experimentId: string,
  sweep: string,
  ctx: { signal: AbortSignal; deadline?: number },
): Promise<string | undefined> {
  const filter = `tags.paramflow.sweep_id = '${sweep}' AND tags.paramflow.scope = '${SWEEP_SCOPE}'`;
  const page = await client.searchRuns(
    { experimentIds: [experimentId], filter, maxResults: 1 },
    { signal: ctx.signal, ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}) },
  );
  return page.items[0]?.info.run_id;
}

/** Syncs every sweep's and run's spooled operations, sweeps first (trial runs name them), oldest first; stops early when the server is unreachable. */
export async function syncAll(layout: Layout, options: SyncOptions = {}): Promise<SyncRunResult[]> {
  const list = async (dir: string) =>
    (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  const targets: TrackedTarget[] = [
    ...(await list(layout.sweepsDir)).map((id) => ({ kind: 'sweep' as const, id })),
    ...(await list(layout.runsDir)).map((id) => ({ kind: 'run' as const, id })),
  ];
  const out: SyncRunResult[] = [];
  let unreachable: string | undefined;
  for (const t of targets) {
    if (options.deadline !== undefined && Date.now() >= options.deadline)
      unreachable ??= 'out of time: `paramflow sync` sends the rest';
    if (unreachable) {
      const s = await mlflowState(layout, t);
      if (s.state !== 'off') out.push({ ...resultOf(t.id, s), error: unreachable });
      continue;
    }
    const r = await syncTarget(layout, t, options);
    if (r.state === 'off' && r.sent === 0) continue;
    out.push(r);
    if (r.error && r.sent === 0 && /cannot reach/.test(r.error)) unreachable = r.error;
  }
  return out;
}

function resultOf(id: string, s: MlflowRunState): SyncRunResult {
  return {
    runId: id,
    state: s.state,
    sent: 0,
    rejected: 0,
    refused: s.rejected,
    pending: s.pending,
    ...(s.mlflowRunId ? { mlflowRunId: s.mlflowRunId } : {}),
    ...(s.url ? { url: s.url } : {}),
  };
}

async function summary(t: SpoolTarget): Promise<SyncRunResult> {
  return resultOf(t.id, await spoolState(t.files, t.mainScope));
}

async function readSweep(layout: Layout, sweepId: string): Promise<SweepRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(sweepDir(layout, sweepId), 'sweep.json'), 'utf8')) as SweepRecord;
  } catch {
    return undefined;
  }
}

/** The lock, or undefined at once when another live process holds it. */
async function tryLock(path: string): Promise<HeldLock | undefined> {
  const busy = new AbortController();
  try {
    return await acquireLock(path, { signal: busy.signal, onWait: () => busy.abort(), purpose: 'mlflow sync' });
  } catch {
    return undefined;
  }
}
