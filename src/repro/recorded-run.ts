import { resolveRunRef } from '../tracking/resolve-ref.js';
import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';

export interface RecordedRun {
  record: RunRecord;
  /** Where the record came from: this project's run store, or an MLflow run's artifacts. */
  source: 'local' | 'mlflow';
}

// The one place repro turns a reference into a run record, so that reading MLflow
// runs' artifacts (tracking/load-run.ts, when it lands) is a change here only.
export async function loadRecordedRun(ref: string, store: RunStore): Promise<RecordedRun> {
  const runs = await store.list();
  return { record: resolveRunRef(ref, runs), source: 'local' };
}
