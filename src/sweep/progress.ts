import type { SweepRecord, TrialRecord } from '../tracking/sweep-record.js';

/** `train.batch_size=16 train.layers=bn-output`: named choices by their names. */
export function formatValues(values: Record<string, unknown>, labels: Record<string, string> = {}): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${labels[k] ?? (typeof v === 'number' ? Number(v.toPrecision(4)) : JSON.stringify(v))}`)
    .join(' ');
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** `[3/12 done · 2 running · 0 failed · 1 pruned] best t1a2b3c4 cv_rmse_mean 0.2069 ± 0.0012 (train.batch_size=32) · ETA 1m20s` */
export function formatProgress(
  r: SweepRecord,
  best: TrialRecord | undefined,
  metric: string,
  elapsedMs: number,
): string {
  const all = r.trials.flatMap((t) => t.replicates);
  const done = all.filter((x) => x.status === 'FINISHED' || x.status === 'FAILED' || x.status === 'PRUNED').length;
  const running = all.filter((x) => x.status === 'running').length;
  const failed = all.filter((x) => x.status === 'FAILED').length;
  const pruned = all.filter((x) => x.status === 'PRUNED').length;
  // A model-based search proposes as it goes: its total is the budget's (when it counts trials).
  const total = r.spec.tpe ? (r.spec.budget?.trials ?? NaN) * r.spec.replicates : all.length;
  const eta = done > 0 && done < total ? ` · ETA ${duration((elapsedMs / done) * (total - done))}` : '';
  const b = best?.objective
    ? ` · best ${best.id} ${metric} ${best.objective.mean.toPrecision(4)}${best.objective.n > 1 ? ` ± ${best.objective.std.toPrecision(2)}` : ''} (${formatValues(best.values, best.labels)})`
    : '';
  const of = Number.isFinite(total) ? `/${total}` : '';
  return `[${done}${of} done · ${running} running · ${failed} failed${pruned ? ` · ${pruned} pruned` : ''}]${b}${eta}`;
}
