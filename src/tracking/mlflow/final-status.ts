import type { RunStatus } from '../run-record.js';
import type { SpooledOp, TrackOp } from './ops.js';
import { appendOps } from './spool.js';

// The end of a run as its spool must say it: a run whose process died before `finish` is
// closed by `paramflow sync` with the status the local store gives it.

export function hasFinalStatus(spool: readonly SpooledOp[], mainScope: string): boolean {
  return spool.some((op) => op.op === 'update-run' && op.scope === mainScope);
}

export function endOf(record: { status: RunStatus; endedAt?: string }): { status: RunStatus; endTime: number } {
  return {
    status: record.status === 'RUNNING' ? 'KILLED' : record.status,
    endTime: record.endedAt ? Date.parse(record.endedAt) : Date.now(),
  };
}

// A run whose process died before `finish` left its MLflow runs RUNNING: close them with
// the status the local store gives it (KILLED, or FAILED), as `finish` would have.
export async function appendFinalStatus(
  t: { files: { spool: string }; mainScope: string },
  end: { status: RunStatus; endTime: number },
  spool: SpooledOp[],
): Promise<SpooledOp[]> {
  const scopes = spool.flatMap((op) => (op.op === 'create-run' ? [op.scope] : []));
  const ops: TrackOp[] = [
    ...scopes.filter((s) => s !== t.mainScope).sort(),
    ...scopes.filter((s) => s === t.mainScope),
  ].map((scope) => ({ op: 'update-run', scope, status: end.status, endTime: end.endTime }));
  let seq = Math.max(0, ...spool.map((o) => o.seq));
  const added = ops.map((op) => ({ ...op, seq: ++seq }) as SpooledOp);
  await appendOps(t.files.spool, added);
  return [...spool, ...added];
}
