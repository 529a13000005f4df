import {
  MAX_BATCH_BYTES,
  MAX_ITEMS_PER_BATCH,
  MAX_METRICS_PER_BATCH,
  MAX_PARAMS_PER_BATCH,
  MAX_TAGS_PER_BATCH,
} from './limits.js';
import type { BatchBody, KeyValue, Metric } from './types.js';

export interface BatchLimits {
  metrics: number;
  params: number;
  tags: number;
  items: number;
  bytes: number;
}

export const BATCH_LIMITS: BatchLimits = {
  metrics: MAX_METRICS_PER_BATCH,
  params: MAX_PARAMS_PER_BATCH,
  tags: MAX_TAGS_PER_BATCH,
  items: MAX_ITEMS_PER_BATCH,
  bytes: MAX_BATCH_BYTES,
};

// Room kept for `{"run_id":"…","metrics":[],"params":[],"tags":[]}` around the items.
const ENVELOPE_BYTES = 256;

type Item = { kind: 'params'; v: KeyValue } | { kind: 'tags'; v: KeyValue } | { kind: 'metrics'; v: Metric };

// Splits one logical log-batch into requests MLflow accepts: each within the count limits
// and under 1 MB of JSON. Order is kept within each kind (params, tags, then metrics), so
// a metric's points arrive in the order they were measured.
export function splitBatch(body: Partial<BatchBody>, limits: BatchLimits = BATCH_LIMITS): BatchBody[] {
  const items: Item[] = [
    ...(body.params ?? []).map((v) => ({ kind: 'params' as const, v })),
    ...(body.tags ?? []).map((v) => ({ kind: 'tags' as const, v })),
    ...(body.metrics ?? []).map((v) => ({ kind: 'metrics' as const, v })),
  ];
  const out: BatchBody[] = [];
  let cur = emptyBatch();
  let bytes = ENVELOPE_BYTES;
  let count = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.v)) + 1;
    const full =
      count > 0 &&
      (count + 1 > limits.items || cur[item.kind].length + 1 > limits[item.kind] || bytes + size > limits.bytes);
    if (full) {
      out.push(cur);
      cur = emptyBatch();
      bytes = ENVELOPE_BYTES;
      count = 0;
    }
    (cur[item.kind] as (KeyValue | Metric)[]).push(item.v);
    bytes += size;
    count++;
  }
  if (count > 0) out.push(cur);
  return out;
}

export function emptyBatch(): BatchBody {
  return { metrics: [], params: [], tags: [] };
}

export function batchSize(b: Partial<BatchBody>): number {
  return (b.metrics?.length ?? 0) + (b.params?.length ?? 0) + (b.tags?.length ?? 0);
}
