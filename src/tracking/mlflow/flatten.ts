import type { KeyValue, Metric } from './types.js';

// Params as MLflow shows them: one string per leaf, the path joined with dots
// (`train.batch_size`, `simulate.x.points`), lists and empty mappings as JSON text.
export function flattenParams(value: unknown, prefix: string, out: KeyValue[] = []): KeyValue[] {
  if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push({ key: prefix, value: '{}' });
    for (const [k, v] of entries) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  out.push({ key: prefix, value: paramText(value) });
  return out;
}

export function paramText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'null';
  return JSON.stringify(value) ?? String(value);
}

/** A metric value as protobuf JSON carries it: non-finite doubles as "NaN" / "Infinity" / "-Infinity". */
export function metricValue(v: number): number | string {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

/** The number a stored metric value stands for. */
export function metricNumber(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Identity of a metric point, for telling whether the server already has it. */
export function pointKey(m: Metric): string {
  // The server stores ±Infinity as ±Number.MAX_VALUE and answers with that.
  const v = metricNumber(m.value);
  const value = v === Infinity ? Number.MAX_VALUE : v === -Infinity ? -Number.MAX_VALUE : v;
  return `${m.key}\u0000${m.step}\u0000${m.timestamp}\u0000${String(value)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
