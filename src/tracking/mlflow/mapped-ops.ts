import { posix } from 'node:path';
import { splitBatch } from './batch.js';
import { checkKey, truncateChars } from './limits.js';
import { contentTypeOf, type GeneratedFile, type TrackOp } from './ops.js';
import type { KeyValue, Metric } from './types.js';

// The pieces both mappings (a run's, mapping.ts; a sweep's, sweep-mapping.ts) build their ops from.

/** What a mapping produced: ops to spool, files it generated, keys MLflow would refuse. */
export interface Mapped {
  ops: TrackOp[];
  files: GeneratedFile[];
  /** Keys MLflow would refuse, left out (they should have been refused at validation). */
  skipped: string[];
}

/** Params or tags MLflow accepts: keys it would refuse left out (and noted), values cut to its limit. */
export function keepLoggable(kvs: KeyValue[], out: Mapped, maxValue: number): KeyValue[] {
  return kvs
    .filter((kv) => isLoggableKey(kv.key, out))
    .map((kv) => ({ key: kv.key, value: truncateChars(kv.value, maxValue) }));
}

/** Whether MLflow accepts the key; a refused one is noted in `out.skipped`. */
export function isLoggableKey(key: string, out: Mapped): boolean {
  if (checkKey(key) === undefined) return true;
  out.skipped.push(key);
  return false;
}

/** A log-batch op for the scope per batch MLflow takes (its size limits). */
export function pushBatches(
  out: Mapped,
  scope: string,
  body: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] },
): void {
  for (const b of splitBatch(body)) out.ops.push({ op: 'log-batch', scope, ...b });
}

/** An artifact upload op, its path kept inside the run's artifact root. */
export function artifactOp(scope: string, path: string, file: string): TrackOp {
  return {
    op: 'artifact',
    scope,
    path: posix.normalize(path).replace(/^(\.\.\/)+/, ''),
    file,
    contentType: contentTypeOf(path),
  };
}

/** Milliseconds of an ISO time, or `fallback` when it is not one. */
export function timestampOf(iso: string, fallback: number): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? fallback : t;
}
