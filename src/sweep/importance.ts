import { canonicalJson } from '../hash/canonical-json.js';
import type { SweepRecord } from '../tracking/sweep-record.js';

// How much each swept key alone explains of the objective's spread over the scored trials:
// the correlation ratio η² = Σ_bins n_b (mean_b − mean)² / Σ (y − mean)², with one bin per
// value of a key with few values and, for a key with many (a range), four bins of about
// equal counts by rank. It is a first-order (main-effect) share, as fANOVA's per-key
// importance is for independent keys; keys that only matter together show little here.

export interface KeyImportance {
  key: string;
  /** η² in [0, 1]. */
  share: number;
  bins: number;
}

/** Fewer scored trials than this give no importance (every key would explain everything). */
export const MIN_TRIALS = 5;
const RANGE_BINS = 4;

export function keyImportance(sweep: SweepRecord, keys: readonly string[]): KeyImportance[] {
  const scored = sweep.trials.filter((t) => t.objective);
  if (scored.length < MIN_TRIALS) return [];
  const ys = scored.map((t) => t.objective!.mean);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const total = ys.reduce((a, y) => a + (y - mean) ** 2, 0);
  if (!(total > 0)) return [];
  const out: KeyImportance[] = [];
  for (const key of keys) {
    const bin = binner(scored.map((t) => t.values[key]));
    const groups = new Map<string, number[]>();
    scored.forEach((t, i) => {
      const b = bin(t.values[key]);
      groups.set(b, [...(groups.get(b) ?? []), ys[i]!]);
    });
    if (groups.size < 2) continue; // one value: the key did not vary
    let between = 0;
    for (const g of groups.values()) between += g.length * (g.reduce((a, b) => a + b, 0) / g.length - mean) ** 2;
    out.push({ key, share: between / total, bins: groups.size });
  }
  return out.sort((a, b) => b.share - a.share);
}

/** Each value's bin: itself when the key took few values, else its quartile by rank. */
function binner(values: readonly unknown[]): (v: unknown) => string {
  const distinct = [...new Set(values.map((v) => canonicalJson(v ?? null)))];
  const numbers = values.every((v) => typeof v === 'number');
  if (distinct.length <= 2 * RANGE_BINS || !numbers) return (v) => canonicalJson(v ?? null);
  const sorted = [...(values as number[])].sort((a, b) => a - b);
  const edges = Array.from(
    { length: RANGE_BINS - 1 },
    (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / RANGE_BINS)]!,
  );
  return (v) => String(edges.filter((e) => (v as number) >= e).length);
}
