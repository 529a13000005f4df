import type { SyncFlags } from '../command-options.js';
import { relative } from 'node:path';
import { Layout } from '../../project/layout.js';
import { findProjectRoot } from '../../project/root.js';
import { EXIT } from '../../util/errors.js';
import { listRefused, refusedText, syncAll, syncTarget, type SyncRunResult } from '../../tracking/mlflow/index.js';
import { resolveRunRef } from '../../tracking/resolve-ref.js';
import { listRuns, projectStore } from './runs.js';

/** `paramflow sync [ref]`: sends what was spooled while MLflow was unreachable. */
export async function syncCommand(ref: string | undefined, flags: SyncFlags = {}): Promise<number> {
  const layout = new Layout(findProjectRoot(process.cwd()));
  if (flags.showRefused) return showRefused(layout, ref);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const results: SyncRunResult[] = ref
    ? [
        await syncTarget(
          layout,
          { kind: 'run', id: resolveRunRef(ref, await listRuns(projectStore())).runId },
          { env: process.env, log },
        ),
      ]
    : await syncAll(layout, { env: process.env, log });
  if (results.length === 0) {
    process.stdout.write('nothing to sync: no run has MLflow operations spooled\n');
    return EXIT.ok;
  }
  for (const r of results) {
    const where = r.url ?? r.mlflowRunId ?? '';
    const tail = r.error ? ` — ${r.error}` : '';
    // The total refused, not only by this call: an earlier refusal is still missing in MLflow.
    const refused = r.refused ? `; ${refusedText(r.refused, r.runId)}` : '';
    process.stdout.write(
      `${r.runId}: ${r.state}${r.state === 'pending' ? ` (${r.pending} left)` : ''}, sent ${r.sent}${refused}${where ? ` · ${where}` : ''}${tail}\n`,
    );
  }
  return results.some((r) => r.state === 'pending') ? EXIT.failed : EXIT.ok;
}

/** `paramflow sync --show-refused [ref]`: each operation MLflow refused for good, with the server's reason. */
async function showRefused(layout: Layout, ref: string | undefined): Promise<number> {
  // A ref names a run (id or hash prefix) or a sweep (id prefix).
  const id = ref === undefined ? undefined : await runIdOrSweep(ref);
  const all = await listRefused(layout, id);
  if (all.length === 0) {
    process.stdout.write(`no operation was refused by the MLflow server${id ? ` for ${id}` : ''}\n`);
    return EXIT.ok;
  }
  for (const r of all) {
    process.stdout.write(
      `${r.id}: ${r.ops.length} operation${r.ops.length === 1 ? '' : 's'} refused by the server (kept in ${relative(process.cwd(), r.file) || r.file})\n`,
    );
    for (const op of r.ops) process.stdout.write(`  #${op.seq} ${op.op}: ${op.message}\n`);
  }
  return EXIT.ok;
}

async function runIdOrSweep(ref: string): Promise<string> {
  try {
    return resolveRunRef(ref, await listRuns(projectStore())).runId;
  } catch {
    return ref; // a sweep id (or its start): listRefused matches it
  }
}
