import { readdir } from 'node:fs/promises';
import type { Layout } from '../../project/layout.js';
import { runSpool, sweepSpool, readState, type RejectedOp } from './spool.js';

// Operations MLflow refused for good (a 400: a bad value, a limit) are acknowledged so the
// spool moves on, and kept in the state file's `rejected` list. They are data missing in
// MLflow, so "synced" alone would lie: every place that shows a run's MLflow state says how
// many were refused and how to see them (`paramflow sync --show-refused`).

/** `3 operations refused by the server (`paramflow sync --show-refused <id>` lists them)`. */
export function refusedText(count: number, id?: string): string {
  return `${count} operation${count === 1 ? '' : 's'} refused by the server (\`paramflow sync --show-refused${id ? ` ${id}` : ''}\` lists them)`;
}

export interface RefusedOps {
  /** A run id, or a sweep id for a sweep's own run. */
  id: string;
  /** The state file that keeps them (`mlflow-sync.json`). */
  file: string;
  ops: RejectedOp[];
}

/** The refused operations of the runs and sweeps whose id starts with `id`, or of every one when `id` is undefined (sweeps first, oldest first). */
export async function listRefused(layout: Layout, id?: string): Promise<RefusedOps[]> {
  const list = async (dir: string) =>
    (await readdir(dir).catch(() => [] as string[]))
      .filter((n) => !n.startsWith('.') && (id === undefined || n.startsWith(id)))
      .sort();
  const targets = [
    ...(await list(layout.sweepsDir)).map((s) => ({ id: s, file: sweepSpool(layout, s).state })),
    ...(await list(layout.runsDir)).map((r) => ({ id: r, file: runSpool(layout, r).state })),
  ];
  const out: RefusedOps[] = [];
  for (const t of targets) {
    const ops = (await readState(t.file))?.rejected ?? [];
    if (ops.length > 0) out.push({ ...t, ops });
  }
  return out;
}
