import { canonicalJson } from '../hash/canonical-json.js';
import type { SweepRecord } from '../tracking/sweep-record.js';

// How much each swept key alone explains of the objective's spread over the scored trials: the
// correlation ratio η² = SS_between / SS_total of the trials grouped by the key's value, adjusted
// for the number of groups as ε² = 1 − (SS_within/(n − k)) / (SS_total/(n − 1)) (clamped at 0):
// with few trials, a key whose every trial is its own group would otherwise explain everything.
// One group per value when a key took few values, else (a range) bins of about equal counts by
// rank, at most 4 and at least 3 trials each on average. A first-order (main-effect) share, as
// fANOVA's per-key importance is for independent keys; keys that only matter together show little.

export interface KeyImportance {
  key: string;
  /** ε², the adjusted η², in [0, 1]. */
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
    const bin = binner(
      scored.map((t) => t.values[key]),
      Math.max(2, Math.min(RANGE_BINS, Math.floor(scored.length / 3))),
    );
    const groups = new Map<string, number[]>();
    scored.forEach((t, i) => {
      const b = bin(t.values[key]);
      groups.set(b, [...(groups.get(b) ?? []), ys[i]!]);
    });
    const k = groups.size;
    // One value (the key did not vary), or too few trials per group to tell a spread from noise.
    if (k < 2 || ys.length - k < 2) continue;
    let within = 0;
    for (const g of groups.values()) {
      const m = g.reduce((a, b) => a + b, 0) / g.length;
      within += g.reduce((a, y) => a + (y - m) ** 2, 0);
    }
    const share = Math.max(0, 1 - within / (ys.length - k) / (total / (ys.length - 1)));
    out.push({ key, share, bins: k });
  }
  return out.sort((a, b) => b.share - a.share);
}

/** Each value's bin: itself when the key took at most `bins` values (or is not a number), else its rank bin. */
function binner(values: readonly unknown[], bins: number): (v: unknown) => string {
  const distinct = new Set(values.map((v) => canonicalJson(v ?? null)));
  const numbers = values.every((v) => typeof v === 'number');
  if (distinct.size <= bins || !numbers) return (v) => canonicalJson(v ?? null);
  const sorted = [...(values as number[])].sort((a, b) => a - b);
  const edges = Array.from({ length: bins - 1 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / bins)]!);
  return (v) => String(edges.filter((e) => (v as number) >= e).length);
}
