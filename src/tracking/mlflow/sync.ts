import { readdir } from 'node:fs/promises';
import type { Layout } from '../../cache/layout.js';
import { acquireLock, type HeldLock } from '../../cache/lock.js';
import { RunStore } from '../run-store.js';
import type { RunRecord } from '../run-record.js';
import { authFromEnv, type Env } from './auth.js';
import { MlflowClient } from './client.js';
import { MlflowError } from './errors.js';
import { RUN_SCOPE, type SpooledOp, type TrackOp } from './ops.js';
import type { Clock, RetryPolicy } from './retry.js';
import { SpoolSender } from './sender.js';
import { appendOps, lockPath, newState, readSpool, readState, spoolPath, statePath, writeState } from './spool.js';
import { parseTrackingUri, redactUri, runUrl, splitTrackingUri } from './uri.js';

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

export type SyncStateName = 'synced' | 'pending' | 'off';

export interface SyncRunResult {
  runId: string;
  state: SyncStateName;
  /** Operations sent (and acknowledged) by this call. */
  sent: number;
  /** Operations the server refused for good, by this call. */
  rejected: number;
  /** Operations still spooled. */
  pending: number;
  mlflowRunId?: string;
  url?: string;
  /** Why the run was not (fully) synced. */
  error?: string;
}

// `paramflow sync`: replays what runs spooled, from where each stopped. Idempotent: ops
// acknowledged are never resent, an op whose answer was lost is checked against the
// server first, so a second sync of a synced run sends nothing.
export async function syncRun(layout: Layout, runId: string, options: SyncOptions = {}): Promise<SyncRunResult> {
  const env = options.env ?? process.env;
  const spool = await readSpool(spoolPath(layout, runId));
  if (spool.length === 0) return { runId, state: 'off', sent: 0, rejected: 0, pending: 0 };
  const record = await new RunStore(layout).read(runId).catch(() => undefined);
  if (record?.status === 'RUNNING') return { ...(await summary(layout, runId)), error: 'the run is still going: its own process is logging it' };
  const before = await summary(layout, runId);
  if (before.pending === 0 && (!record || hasFinalStatus(spool))) return before;

  const explicit = options.uri ?? env.MLFLOW_TRACKING_URI;
  const saved = await readState(statePath(layout, runId));
  if (explicit && saved && saved.acked > 0 && redactUri(explicit) !== saved.server) {
    return { ...before, error: `run ${runId} was logged to ${saved.server}, and MLFLOW_TRACKING_URI now names ${redactUri(explicit)}: point it back to finish the sync` };
  }
  const uri = explicit ?? saved?.server;
  if (!uri) return { ...before, error: 'no MLflow server: set MLFLOW_TRACKING_URI' };

  const lock = await tryLock(lockPath(layout, runId));
  if (!lock) return { ...before, error: 'another paramflow process is syncing this run' };
  const client = options.client ?? new MlflowClient({ uri, auth: authFromEnv(env, splitTrackingUri(parseTrackingUri(uri))), timeoutMs: options.timeoutMs, retry: options.retry, clock: options.clock });
  try {
    let ops = spool;
    if (record && !hasFinalStatus(spool)) ops = await appendFinalStatus(layout, record, spool);
    const state = saved ?? newState(client.server);
    state.server = client.server; // nothing acknowledged elsewhere (checked above): this server is the run's now
    const sender = new SpoolSender({ client, layout, runId, retry: options.retry, log: options.log, afterSend: options.afterSend }, state);
    if (options.signal) options.signal.addEventListener('abort', () => sender.abort.abort(), { once: true });
    sender.deadline = options.deadline;
    const stop = options.deadline === undefined ? undefined : setTimeout(() => sender.abort.abort(), Math.max(0, options.deadline - Date.now()));
    await writeState(statePath(layout, runId), state);
    const r = await sender.drain(() => ops).finally(() => clearTimeout(stop));
    const after = await summary(layout, runId);
    return { ...after, sent: r.sent, rejected: r.rejected, ...(r.error ? { error: r.error instanceof MlflowError ? r.error.describe() : r.error.message } : {}) };
  } finally {
    if (!options.client) await client.close().catch(() => undefined);
    await lock.release();
  }
}

/** Syncs every run with spooled operations, oldest first; stops early when the server is unreachable. */
export async function syncAll(layout: Layout, options: SyncOptions = {}): Promise<SyncRunResult[]> {
  const ids = (await readdir(layout.runsDir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  const out: SyncRunResult[] = [];
  let unreachable: string | undefined;
  for (const id of ids) {
    if (options.deadline !== undefined && Date.now() >= options.deadline) unreachable ??= 'out of time: `paramflow sync` sends the rest';
    if (unreachable) {
      const s = await summary(layout, id);
      if (s.state !== 'off') out.push({ ...s, error: unreachable });
      continue;
    }
    const r = await syncRun(layout, id, options);
    if (r.state === 'off' && r.sent === 0) continue;
    out.push(r);
    if (r.error && r.sent === 0 && /cannot reach/.test(r.error)) unreachable = r.error;
  }
  return out;
}

export interface MlflowRunState {
  state: SyncStateName;
  /** `synced`, `pending N` or `off`: the column `paramflow runs` shows. */
  label: string;
  pending: number;
  rejected: number;
  mlflowRunId?: string;
  experimentId?: string;
  server?: string;
  url?: string;
  lastError?: string;
}

/** A run's MLflow state as recorded locally (no network): for `paramflow runs`. */
export async function mlflowState(layout: Layout, runId: string): Promise<MlflowRunState> {
  const spool = await readSpool(spoolPath(layout, runId));
  if (spool.length === 0) return { state: 'off', label: 'off', pending: 0, rejected: 0 };
  const st = await readState(statePath(layout, runId));
  const acked = st?.acked ?? 0;
  const pending = spool.filter((op) => op.seq > acked).length;
  const run = st?.runs[RUN_SCOPE];
  return {
    state: pending === 0 ? 'synced' : 'pending',
    label: pending === 0 ? 'synced' : `pending ${pending}`,
    pending,
    rejected: st?.rejected.length ?? 0,
    ...(run ? { mlflowRunId: run.runId } : {}),
    ...(st?.experimentId ? { experimentId: st.experimentId } : {}),
    ...(st?.server ? { server: st.server } : {}),
    ...(st?.server && st.experimentId && run ? { url: runUrl(st.server, st.experimentId, run.runId) } : {}),
    ...(st?.lastError ? { lastError: st.lastError } : {}),
  };
}

async function summary(layout: Layout, runId: string): Promise<SyncRunResult> {
  const s = await mlflowState(layout, runId);
  return { runId, state: s.state, sent: 0, rejected: 0, pending: s.pending, ...(s.mlflowRunId ? { mlflowRunId: s.mlflowRunId } : {}), ...(s.url ? { url: s.url } : {}) };
}

function hasFinalStatus(spool: readonly SpooledOp[]): boolean {
  return spool.some((op) => op.op === 'update-run' && op.scope === RUN_SCOPE);
}

// A run whose process died before `finish` left its MLflow runs RUNNING: close them with
// the status the local store gives it (KILLED, or FAILED), as `finish` would have.
async function appendFinalStatus(layout: Layout, record: RunRecord, spool: SpooledOp[]): Promise<SpooledOp[]> {
  const endTime = record.endedAt ? Date.parse(record.endedAt) : Date.now();
  const status = record.status === 'RUNNING' ? 'KILLED' : record.status;
  const scopes = spool.flatMap((op) => (op.op === 'create-run' ? [op.scope] : []));
  const ops: TrackOp[] = [...scopes.filter((s) => s !== RUN_SCOPE).sort(), ...scopes.filter((s) => s === RUN_SCOPE)].map((scope) => ({ op: 'update-run', scope, status, endTime }));
  let seq = Math.max(0, ...spool.map((o) => o.seq));
  const added = ops.map((op) => ({ ...op, seq: ++seq }) as SpooledOp);
  await appendOps(spoolPath(layout, record.runId), added);
  return [...spool, ...added];
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
