import type { FoldEvent, FoldReport, MetricPoint } from '../../stage-contract/types.js';
import { metricValue } from './flatten.js';
import { isLoggableKey, pushBatches, type Mapped } from './mapped-ops.js';
import { foldScope, RUN_SCOPE } from './ops.js';
import type { KeyValue, Metric } from './types.js';

// A fold's MLflow run, nested under its run (or trial): created when the fold starts, its
// curves streamed while it trains, ended when its model is final — so a long sweep shows its
// folds' learning curves as they grow, and each fold its own duration. A stage taken from the
// cache reports its folds only at its end: their runs are made then, tagged as cached.

/** What the fold mapping remembers of one run (part of MappingState). */
export interface FoldMappingState {
  /** Scopes whose create-run was issued. */
  scopes: Set<string>;
  /** `<scope>\0<key>` → the last step streamed, so the stage's final curves are not logged twice. */
  streamed: Map<string, number>;
  /** Fold scopes whose end was logged (the run's end leaves them as they are). */
  ended: Set<string>;
}

export interface FoldNaming {
  /** The parent run's name: a fold's run is `<it> fold-<k>`, so a legend says which study. */
  runName: string;
  user: string;
  baseTags: (scope: string) => KeyValue[];
}

/** The events of a stage's folds (in the order they happened) as MLflow operations. */
export function mapFoldEvents(
  stage: string,
  events: readonly FoldEvent[],
  naming: FoldNaming,
  state: FoldMappingState,
): Mapped {
  const out: Mapped = { ops: [], files: [], skipped: [] };
  const pending = new Map<string, Metric[]>();
  const flush = (scope: string) => {
    const metrics = pending.get(scope);
    if (metrics?.length) pushBatches(out, scope, { metrics });
    pending.delete(scope);
  };
  for (const e of events) {
    const scope = foldScope(e.fold);
    if (e.phase === 'start') {
      createFold(out, state, scope, e.fold, stage, e.at, naming, []);
    } else if (e.phase === 'epoch') {
      const metrics = pending.get(scope) ?? [];
      for (const [key, value] of Object.entries(e.metrics ?? {})) {
        if (!isLoggableKey(key, out)) continue;
        metrics.push({ key, value: metricValue(value), timestamp: Math.round(e.at), step: e.epoch });
        state.streamed.set(`${scope}\u0000${key}`, e.epoch);
      }
      pending.set(scope, metrics);
    } else {
      flush(scope);
      if (state.scopes.has(scope) && !state.ended.has(scope)) {
        out.ops.push({ op: 'update-run', scope, status: 'FINISHED', endTime: Math.round(e.at) });
        state.ended.add(scope);
      }
    }
  }
  for (const scope of [...pending.keys()]) flush(scope);
  return out;
}

/** A fold's run, once: started at `at`. */
export function createFold(
  out: Mapped,
  state: FoldMappingState,
  scope: string,
  fold: number,
  stage: string,
  at: number,
  naming: FoldNaming,
  extraTags: readonly KeyValue[],
): void {
  if (state.scopes.has(scope)) return;
  state.scopes.add(scope);
  const runName = `${naming.runName} ${scope}`;
  out.ops.push({
    op: 'create-run',
    scope,
    parent: RUN_SCOPE,
    runName,
    startTime: Math.round(at),
    userId: naming.user,
    tags: [
      { key: 'mlflow.runName', value: runName },
      ...naming.baseTags(scope),
      { key: 'paramflow.fold', value: String(fold) },
      { key: 'paramflow.stage', value: stage },
      ...extraTags,
    ],
  });
}

/** A fold's curve points not streamed already (by step). */
export function unstreamed(scope: string, key: string, points: readonly MetricPoint[], state: FoldMappingState) {
  const last = state.streamed.get(`${scope}\u0000${key}`);
  return last === undefined ? points : points.filter((p) => p.step > last);
}

/**
 * The folds' mean curve, `<key>.mean` on the run (step = epoch): at each step, the mean over
 * the folds that ran it (a fold that early stopping ended sooner no longer counts).
 */
export function foldMeanCurves(folds: readonly FoldReport[]): Record<string, MetricPoint[]> {
  const byKey = new Map<string, Map<number, { sum: number; n: number; timestamp: number }>>();
  for (const f of folds)
    for (const [key, points] of Object.entries(f.series)) {
      const steps = byKey.get(key) ?? new Map();
      byKey.set(key, steps);
      for (const p of points) {
        const at = steps.get(p.step) ?? { sum: 0, n: 0, timestamp: 0 };
        steps.set(p.step, { sum: at.sum + p.value, n: at.n + 1, timestamp: Math.max(at.timestamp, p.timestamp) });
      }
    }
  const out: Record<string, MetricPoint[]> = {};
  for (const [key, steps] of byKey)
    out[`${key}.mean`] = [...steps.entries()]
      .sort(([a], [b]) => a - b)
      .map(([step, s]) => ({ step, value: s.sum / s.n, timestamp: s.timestamp }));
  return out;
}
