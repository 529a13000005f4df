import { canonicalJson } from '../hash/canonical-json.js';
import { sha256 } from '../hash/sha256.js';
import { deriveSeed, Rng } from '../stage-contract/random.js';
import { checkSweepSize, gridValues, type Distribution, type SweepSpec } from '../config/sweep-spec.js';

export interface Trial {
  /** Stable from the values: the same values are the same trial in every rerun. */
  id: string;
  values: Record<string, unknown>;
  /** Key → the name of its value, for keys swept over named choices (never in the id). */
  labels?: Record<string, string>;
}

export function trialId(values: Record<string, unknown>): string {
  return `t${sha256(canonicalJson(values)).slice(0, 8)}`;
}

/**
 * The trials of a sweep: the grid's cartesian product (keys in written order, the last
 * varying fastest), each crossed with `random.trials` seeded draws when both are given.
 */
export function expandTrials(spec: SweepSpec, pipelineSeed: number): Trial[] {
  // Callers check the size where they can locate the error (prepareSweep); this stops any other.
  checkSweepSize(spec, {}, { file: '<sweep>' });
  let combos: Record<string, unknown>[] = [{}];
  const named = new Map<string, Map<string, string>>(); // key → canonical value → its name
  for (const [key, given] of Object.entries(spec.grid ?? {})) {
    const { values, names } = gridValues(given);
    if (names) named.set(key, new Map(values.map((v, i) => [canonicalJson(v), names[i]!])));
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  if (spec.random) {
    const rng = new Rng(deriveSeed(pipelineSeed, 'sweep/random'));
    const draws = Array.from({ length: spec.random.trials ?? 1 }, () =>
      Object.fromEntries(Object.entries(spec.random!.params).map(([k, d]) => [k, draw(rng, d)])),
    );
    combos = combos.flatMap((c) => draws.map((d) => ({ ...c, ...d })));
  }
  const seen = new Set<string>();
  const ids = new Set<string>();
  const trials: Trial[] = [];
  for (const values of combos) {
    const text = canonicalJson(values);
    if (seen.has(text)) continue; // a repeated grid value or draw is one trial
    seen.add(text);
    // 8 hex digits collide about once in 100,000 trials: distinct values get a longer id, never a merge.
    let id = trialId(values);
    if (ids.has(id)) id = `t${sha256(text).slice(0, 16)}`;
    ids.add(id);
    const labels = Object.fromEntries(
      [...named].flatMap(([key, names]) => {
        const name = names.get(canonicalJson(values[key] ?? null));
        return name === undefined ? [] : [[key, name]];
      }),
    );
    trials.push({ id, values, ...(Object.keys(labels).length > 0 ? { labels } : {}) });
  }
  return trials;
}

function draw(rng: Rng, d: Distribution): unknown {
  if ('uniform' in d) return rng.uniform(d.uniform[0], d.uniform[1]);
  if ('loguniform' in d) return rng.loguniform(d.loguniform[0], d.loguniform[1]);
  if ('int' in d) return d.int[0] + rng.int(d.int[1] - d.int[0] + 1);
  return d.choice[rng.int(d.choice.length)];
}

/** Replicate r's seed: replicate 0 keeps the pipeline's seed, so a one-replicate trial is a plain run. */
export function replicateSeed(pipelineSeed: number, replicate: number): number {
  return replicate === 0 ? pipelineSeed : deriveSeed(pipelineSeed, `replicate/${replicate}`);
}
