import { appendFileSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../../util/atomic-write.js';
import { crashPoint } from '../../util/crash.js';
import { dirname, join } from 'node:path';
import type { Layout } from '../../project/layout.js';
import { RUN_SCOPE, SWEEP_SCOPE, type SpooledOp } from './ops.js';

// The run's MLflow operations on disk, in the run's folder:
//   mlflow-spool.jsonl  every operation, one JSON line each, appended before it is sent
//   mlflow-sync.json    how far the server has acknowledged them, and the MLflow ids
// Together they let a later `paramflow sync` finish the job after a crash, a dead server
// or a killed process. Neither holds credentials: the server is stored redacted.

export const SPOOL_FILE = 'mlflow-spool.jsonl';
export const STATE_FILE = 'mlflow-sync.json';
export const LOCK_FILE = 'mlflow-sync.lock';
export const STATE_FORMAT = 1;

export interface RejectedOp {
  seq: number;
  op: string;
  message: string;
}

export interface SyncState {
  format: number;
  /** The tracking server (no credentials) this run is logged to. */
  server: string;
  experimentId?: string;
  /** Local scope (`run`, `fold-0`) → its MLflow run. */
  runs: Record<string, { runId: string; artifactUri?: string }>;
  /** Every op with seq ≤ acked is done (sent, or refused for good and listed in `rejected`). */
  acked: number;
  /** An op sent, or about to be, whose answer was not recorded: check the server before resending it. */
  inFlight?: number;
  rejected: RejectedOp[];
  /** Why the last attempt stopped, when it did. */
  lastError?: string;
  updatedAt: string;
}

export const spoolPath = (layout: Layout, runId: string): string => join(layout.run(runId), SPOOL_FILE);
export const statePath = (layout: Layout, runId: string): string => join(layout.run(runId), STATE_FILE);
export const lockPath = (layout: Layout, runId: string): string => join(layout.run(runId), LOCK_FILE);

/** The three files of one spool, in the folder of what it logs (a run, or a sweep). */
export interface SpoolFiles {
  dir: string;
  spool: string;
  state: string;
  lock: string;
}

const filesIn = (dir: string): SpoolFiles => ({
  dir,
  spool: join(dir, SPOOL_FILE),
  state: join(dir, STATE_FILE),
  lock: join(dir, LOCK_FILE),
});

/** A run's spool: `.paramflow/runs/<run-id>/`. */
export const runSpool = (layout: Layout, runId: string): SpoolFiles => filesIn(layout.run(runId));

/** Where sweeps live (as SweepStore writes them): `.paramflow/sweeps/<sweep-id>/`. */
export const sweepDir = (layout: Layout, sweepId: string): string => layout.sweep(sweepId);

/** A sweep's own spool (its parent run), beside its sweep.json. */
export const sweepSpool = (layout: Layout, sweepId: string): SpoolFiles => filesIn(sweepDir(layout, sweepId));

/**
 * What this project logs to MLflow, for the trackers, `sync` and the state `runs` shows: a run
 * (its MLflow run, folds nested under it) or a sweep (its parent run, trials nested under it).
 */
export interface TrackedTarget {
  kind: 'run' | 'sweep';
  id: string;
}

/** A target's spool files, the tag that finds its MLflow run, and the scope of that run. */
export function spoolOf(layout: Layout, t: TrackedTarget): { files: SpoolFiles; tag: string; mainScope: string } {
  return t.kind === 'run'
    ? { files: runSpool(layout, t.id), tag: 'paramflow.run_id', mainScope: RUN_SCOPE }
    : { files: sweepSpool(layout, t.id), tag: 'paramflow.sweep_id', mainScope: SWEEP_SCOPE };
}

/** What a spool queue needs to know of its target: its files, how its MLflow run is found, its scope. */
export function queueTarget(
  layout: Layout,
  t: TrackedTarget,
): { files: SpoolFiles; identity: { tag: string; value: string }; mainScope: string } {
  const { files, tag, mainScope } = spoolOf(layout, t);
  return { files, identity: { tag, value: t.id }, mainScope };
}

export function newState(server: string): SyncState {
  return { format: STATE_FORMAT, server, runs: {}, acked: 0, rejected: [], updatedAt: new Date().toISOString() };
}

export async function appendOps(file: string, ops: readonly SpooledOp[]): Promise<void> {
  if (ops.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  const text = ops.map((o) => JSON.stringify(o)).join('\n') + '\n';
  crashPoint('spool-append', undefined, () => appendFileSync(file, text.slice(0, Math.ceil(text.length / 2))));
  await appendFile(file, text);
}

/**
 * The spooled ops in seq order. A last line cut short (the process died while appending)
 * is dropped: that op was never sent, since sending starts after the append.
 */
export async function readSpool(file: string): Promise<SpooledOp[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const bySeq = new Map<number, SpooledOp>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const op = JSON.parse(line) as SpooledOp;
      if (typeof op.seq === 'number' && !bySeq.has(op.seq)) bySeq.set(op.seq, op);
    } catch {
      // a torn line: never sent
    }
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export async function readState(file: string): Promise<SyncState | undefined> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as SyncState;
    return { ...s, runs: s.runs ?? {}, rejected: s.rejected ?? [], acked: s.acked ?? 0 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Replaced atomically: a reader (or a crash) never sees half a file. */
export async function writeState(file: string, state: SyncState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  // Not synced (rebuilt from the spool if lost), but never a truncated file.
  await writeFileAtomically(file, JSON.stringify(state, null, 2) + '\n', {
    doing: 'recording the MLflow sync state',
    fault: 'spool-write',
    fsync: false,
  });
}
