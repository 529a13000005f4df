import { Layout } from '../../cache/layout.js';
import { findProjectRoot } from '../../config/project-root.js';
import { EXIT } from '../../errors.js';
import { syncAll, syncRun, type SyncRunResult } from '../../tracking/mlflow/index.js';
import { resolveRunRef } from '../../tracking/resolve-ref.js';
import { listRuns, projectStore } from './runs.js';

/** `paramflow sync [ref]`: sends what was spooled while MLflow was unreachable. */
export async function syncCommand(ref: string | undefined): Promise<number> {
  const layout = new Layout(findProjectRoot(process.cwd()));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const results: SyncRunResult[] = ref
    ? [await syncRun(layout, resolveRunRef(ref, await listRuns(projectStore())).runId, { env: process.env, log })]
    : await syncAll(layout, { env: process.env, log });
  if (results.length === 0) {
    process.stdout.write('nothing to sync: no run has MLflow operations spooled\n');
    return EXIT.ok;
  }
  for (const r of results) {
    const where = r.url ?? r.mlflowRunId ?? '';
    const tail = r.error ? ` — ${r.error}` : '';
    process.stdout.write(`${r.runId}: ${r.state}${r.state === 'pending' ? ` (${r.pending} left)` : ''}, sent ${r.sent}${r.rejected ? `, ${r.rejected} refused by the server` : ''}${where ? ` · ${where}` : ''}${tail}\n`);
  }
  return results.some((r) => r.state === 'pending') ? EXIT.failed : EXIT.ok;
}
