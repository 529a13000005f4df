import type { RunRecord } from '../tracking/run-record.js';

// A run's params as `--set` paths (docs/conventions.md, Overrides), so compare and report name a
// value the way a user would change it.

/**
 * `seed` plus every leaf of `resolved.stages.<stage>.with` as `<stage>.<path>`, in
 * pipeline order. Lists of plain values stay one value (`simulate.params.A.uniform`);
 * lists of objects (layers) are indexed (`train.layers.0.dense.units`).
 */
export function flattenParams(run: Pick<RunRecord, 'resolved'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (run.resolved.seed !== undefined) out.seed = run.resolved.seed;
  const stages = isPlainObject(run.resolved.stages) ? run.resolved.stages : {};
  for (const [stage, spec] of Object.entries(stages)) {
    const params = isPlainObject(spec) ? spec.with : undefined;
    if (params !== undefined) flattenInto(out, stage, params);
  }
  return out;
}

function flattenInto(out: Record<string, unknown>, prefix: string, value: unknown): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flattenInto(out, `${prefix}.${k}`, v);
  } else if (Array.isArray(value) && value.some((v) => isPlainObject(v) || Array.isArray(v))) {
    value.forEach((v, i) => flattenInto(out, `${prefix}.${i}`, v));
  } else {
    out[prefix] = value;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
