import type { RunRecord } from './run-record.js';

// A cached no-op rerun repeats the run that computed the same pipeline (same run hash): after
// a day of work most records are such repeats. `runs` folds them into the run they repeat,
// and a run hash names the run that computed it.

/** A finished run that executed no stage: every output came from the cache. */
export function isRepeat(r: RunRecord): boolean {
  const stages = Object.values(r.stages);
  return r.status === 'FINISHED' && stages.length > 0 && stages.every((s) => s.status === 'cached');
}

/**
 * The runs to list (newest first), each with how many no-op reruns of it were folded in. A
 * repeat is folded into the newest run of its hash that computed something and finished; one
 * with no such run (its stages came from other pipelines' runs, or the run that computed them
 * was stopped after its last stage) stays a row of its own: it shows the results complete.
 */
export function foldRepeats(newestFirst: readonly RunRecord[]): { run: RunRecord; repeats: number }[] {
  const computed = new Map<string, RunRecord>();
  for (const r of newestFirst) if (!isRepeat(r) && !computed.has(r.runHash)) computed.set(r.runHash, r);
  for (const [hash, r] of computed) if (r.status !== 'FINISHED') computed.delete(hash);
  const repeats = new Map<string, number>();
  const rows: RunRecord[] = [];
  for (const r of newestFirst) {
    const into = isRepeat(r) ? computed.get(r.runHash) : undefined;
    if (into) repeats.set(into.runId, (repeats.get(into.runId) ?? 0) + 1);
    else rows.push(r);
  }
  return rows.map((run) => ({ run, repeats: repeats.get(run.runId) ?? 0 }));
}
