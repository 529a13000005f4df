import type { Layout } from '../project/layout.js';
import { loadRun, type LoadedRun } from '../tracking/load-run.js';

// The one place repro turns a reference into a run record (docs/conventions.md, References):
// the local store first, else the MLflow run's artifacts (run.json, with the resolved pipeline).
export async function loadRecordedRun(
  ref: string,
  layout: Layout,
  env: Readonly<Record<string, string | undefined>>,
): Promise<LoadedRun> {
  return loadRun(ref, { layout, env });
}
