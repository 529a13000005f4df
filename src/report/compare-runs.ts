import type { RunRecord } from '../tracking/run-record.js';
import { flattenParams } from './flatten-params.js';

/** Runs side by side: what `paramflow compare --json` prints. */
export interface Comparison {
  runs: string[];
  objective: string;
  /** Param key → its value in each run (null where a run lacks the key). */
  params: Record<string, unknown[]>;
  /** Keys whose value is not the same in every run. */
  differing: string[];
  /** Metric → per-run values and deltas against the first run (null where unknown). */
  metrics: Record<string, { values: (number | null)[]; delta: (number | null)[]; deltaPct: (number | null)[] }>;
}

/** Compares runs against the first: params in pipeline order, metrics objective first. */
export function compareRuns(runs: readonly RunRecord[], objective: string): Comparison {
  const flat = runs.map(flattenParams);
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const params = Object.fromEntries(keys.map((k) => [k, flat.map((f) => (k in f ? f[k] : null))]));
  const differing = keys.filter((k) => new Set(params[k]!.map((v) => JSON.stringify(v))).size > 1);
  const metricKeys = orderMetrics([...new Set(runs.flatMap((r) => Object.keys(r.metrics)))], objective);
  const metrics = Object.fromEntries(
    metricKeys.map((k) => {
      const values = runs.map((r) => r.metrics[k] ?? null);
      const base = values[0] ?? null;
      const delta = values.map((v) => (v === null || base === null ? null : v - base));
      const deltaPct = delta.map((d) =>
        d === null || base === null || base === 0 ? null : (100 * d) / Math.abs(base),
      );
      return [k, { values, delta, deltaPct }];
    }),
  );
  return { runs: runs.map((r) => r.runId), objective, params, differing, metrics };
}

const LEADING = ['cv_rmse_mean', 'cv_rmse_std', 'val_loss_mean'];

/** The objective first, then the usual summaries, per-target RMSE, other means, the rest; alphabetical within each group. */
export function orderMetrics(keys: readonly string[], objective: string): string[] {
  const rank = (k: string) =>
    k === objective
      ? -1
      : LEADING.includes(k)
        ? LEADING.indexOf(k)
        : /^rmse\..+\.mean$/.test(k)
          ? 10
          : k.endsWith('.mean')
            ? 11
            : 20;
  return [...keys].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
