import { canonicalJson } from '../../hash/canonical-json.js';
import type { Rng } from '../../stage-contract/random.js';
import { gridValues, type Distribution, type SweepSpec } from '../../config/sweep-spec.js';

/**
 * One axis of a model-based search: a list of values (the grid's keys, `choice`
 * distributions), or a numeric range (`uniform`, `loguniform`, `int`).
 */
export type Axis =
  | { key: string; kind: 'categorical'; values: unknown[]; names?: string[] }
  | { key: string; kind: 'float'; low: number; high: number; log: boolean }
  | { key: string; kind: 'int'; low: number; high: number };

/** The search space of a `tpe:` sweep: the grid's keys and the random block's distributions. */
export function searchSpace(spec: Pick<SweepSpec, 'grid' | 'random'>): Axis[] {
  const axes: Axis[] = [];
  for (const [key, given] of Object.entries(spec.grid ?? {})) {
    const { values, names } = gridValues(given);
    axes.push({ key, kind: 'categorical', values, ...(names ? { names } : {}) });
  }
  for (const [key, d] of Object.entries(spec.random?.params ?? {})) axes.push(axisOf(key, d));
  return axes;
}

function axisOf(key: string, d: Distribution): Axis {
  if ('uniform' in d) return { key, kind: 'float', low: d.uniform[0], high: d.uniform[1], log: false };
  if ('loguniform' in d) return { key, kind: 'float', low: d.loguniform[0], high: d.loguniform[1], log: true };
  if ('int' in d) return { key, kind: 'int', low: d.int[0], high: d.int[1] };
  return { key, kind: 'categorical', values: d.choice };
}

/** A uniform draw of one axis (the prior a search starts from). */
export function drawAxis(rng: Rng, a: Axis): unknown {
  if (a.kind === 'categorical') return a.values[rng.int(a.values.length)];
  if (a.kind === 'int') return a.low + rng.int(a.high - a.low + 1);
  return a.log ? rng.loguniform(a.low, a.high) : rng.uniform(a.low, a.high);
}

/** Where a value sits on its axis: the index of a categorical value, the number itself otherwise. */
export function position(a: Axis, value: unknown): number {
  if (a.kind !== 'categorical') return value as number;
  const text = canonicalJson(value ?? null);
  return a.values.findIndex((v) => canonicalJson(v ?? null) === text);
}

/** An axis's values when it has finitely many (choices, integers), in order. */
export function axisValues(a: Axis): unknown[] | undefined {
  if (a.kind === 'categorical') return a.values;
  if (a.kind === 'int') return Array.from({ length: a.high - a.low + 1 }, (_, i) => a.low + i);
  return undefined;
}

/** How many points the space has (Infinity with a continuous axis). */
export function spaceSize(axes: readonly Axis[]): number {
  let n = 1;
  for (const a of axes)
    n *= a.kind === 'categorical' ? a.values.length : a.kind === 'int' ? a.high - a.low + 1 : Infinity;
  return n;
}

/** The names of a point's named choices (key → name), as a grid trial carries them. */
export function labelsOf(axes: readonly Axis[], values: Record<string, unknown>): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (const a of axes) {
    if (a.kind !== 'categorical' || !a.names) continue;
    const i = position(a, values[a.key]);
    if (i >= 0) labels[a.key] = a.names[i]!;
  }
  return Object.keys(labels).length > 0 ? labels : undefined;
}
