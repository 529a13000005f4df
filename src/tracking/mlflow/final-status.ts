import type { RunRecord, RunStatus } from '../run-record.js';
import { pushBatches, type Mapped } from './mapped-ops.js';
import { newMappingState, runMetrics } from './mapping.js';
import type { Metric } from './types.js';
import type { SpooledOp, TrackOp } from './ops.js';
import { appendOps } from './spool.js';

// The end of a run as its spool must say it: a run whose process died before `finish` is
// closed by `paramflow sync` with the status the local store gives it.

export function hasFinalStatus(spool: readonly SpooledOp[], mainScope: string): boolean {
  return spool.some((op) => op.op === 'update-run' && op.scope === mainScope);
}

/** How a run ends in MLflow when its own process could not say: status, time and (a run's) metrics. */
export interface RunEnd {
  status: RunStatus;
  endTime: number;
  /**
   * A run's metrics (they are logged at its end): a dead run's from the stages it finished.
   * Mapped only when the final status is appended, not for every run a sync looks at.
   */
  metrics?: () => Metric[];
}

export function endOf(record: { status: RunStatus; endedAt?: string } | RunRecord): RunEnd {
  const endTime = record.endedAt ? Date.parse(record.endedAt) : Date.now();
  return {
    status: record.status === 'RUNNING' ? 'KILLED' : record.status,
    endTime,
    ...('stages' in record && 'runHash' in record
      ? { metrics: () => runMetrics(record, endTime, newMappingState(), { ops: [], files: [], skipped: [] }) }
      : {}),
  };
}

// A run whose process died before `finish` left its MLflow runs RUNNING: close them with
// the status the local store gives it (KILLED, or FAILED), as `finish` would have.
export async function appendFinalStatus(
  t: { files: { spool: string }; mainScope: string },
  end: RunEnd,
  spool: SpooledOp[],
): Promise<SpooledOp[]> {
  const scopes = spool.flatMap((op) => (op.op === 'create-run' ? [op.scope] : []));
  const metrics: Mapped = { ops: [], files: [], skipped: [] };
  // Its metrics too, when its run was created (a sweep's status only: its metrics come from its trials).
  const own = end.metrics && scopes.includes(t.mainScope) ? end.metrics() : [];
  if (own.length > 0) pushBatches(metrics, t.mainScope, { metrics: own });
  const ops: TrackOp[] = [
    ...metrics.ops,
    ...[...scopes.filter((s) => s !== t.mainScope).sort(), ...scopes.filter((s) => s === t.mainScope)].map(
      (scope): TrackOp => ({ op: 'update-run', scope, status: end.status, endTime: end.endTime }),
    ),
  ];
  let seq = Math.max(0, ...spool.map((o) => o.seq));
  const added = ops.map((op) => ({ ...op, seq: ++seq }) as SpooledOp);
  await appendOps(t.files.spool, added);
  return [...spool, ...added];
}
