import type { Layout } from '../../project/layout.js';
import { readSpool, readState, spoolOf, type SpoolFiles, type TrackedTarget } from './spool.js';
import { runUrl } from './uri.js';

// What a run's or a sweep's MLflow logging looks like from here, read from its spool and sync
// state (no network): the column `paramflow runs` shows, and the start of every sync.

/** `refused`: nothing left to send, but the server refused some operations for good (see refused.ts). */
export type SyncStateName = 'synced' | 'refused' | 'pending' | 'off';

export interface MlflowRunState {
  state: SyncStateName;
  /** `synced`, `refused N`, `pending N` or `off`: the column `paramflow runs` shows. */
  label: string;
  pending: number;
  /** Operations the server refused for good (kept in `stateFile`). */
  rejected: number;
  /** The state file (`mlflow-sync.json`) that keeps the refused operations. */
  stateFile?: string;
  mlflowRunId?: string;
  experimentId?: string;
  server?: string;
  url?: string;
  lastError?: string;
}

/** A run's or a sweep's MLflow state as recorded locally (no network): for `paramflow runs`. */
export function mlflowState(layout: Layout, t: TrackedTarget): Promise<MlflowRunState> {
  const { files, mainScope } = spoolOf(layout, t);
  return spoolState(files, mainScope);
}

export async function spoolState(files: SpoolFiles, mainScope: string): Promise<MlflowRunState> {
  const spool = await readSpool(files.spool);
  if (spool.length === 0) return { state: 'off', label: 'off', pending: 0, rejected: 0 };
  const st = await readState(files.state);
  const acked = st?.acked ?? 0;
  const pending = spool.filter((op) => op.seq > acked).length;
  const run = st?.runs[mainScope];
  const rejected = st?.rejected.length ?? 0;
  return {
    // A refused op is acknowledged (the spool moves on): nothing left to send, but not "synced".
    state: pending > 0 ? 'pending' : rejected > 0 ? 'refused' : 'synced',
    label: [
      pending > 0 ? `pending ${pending}` : '',
      rejected > 0 ? `refused ${rejected}` : '',
      pending + rejected === 0 ? 'synced' : '',
    ]
      .filter(Boolean)
      .join(', '),
    pending,
    rejected,
    stateFile: files.state,
    ...(run ? { mlflowRunId: run.runId } : {}),
    ...(st?.experimentId ? { experimentId: st.experimentId } : {}),
    ...(st?.server ? { server: st.server } : {}),
    ...(st?.server && st.experimentId && run ? { url: runUrl(st.server, st.experimentId, run.runId) } : {}),
    ...(st?.lastError ? { lastError: st.lastError } : {}),
  };
}
