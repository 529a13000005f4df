import { stringify } from 'yaml';
import type { MetricPoint } from '../../stage-contract/types.js';
import type { RunRecord } from '../run-record.js';
import { flattenParams, metricValue } from './flatten.js';
import { MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH, truncateChars } from './limits.js';
import { artifactOp, isLoggableKey, keepLoggable, pushBatches, timestampOf, type Mapped } from './mapped-ops.js';
import { foldScope, RUN_SCOPE, type ParentRef } from './ops.js';
import type { KeyValue, Metric } from './types.js';

// How a paramflow run appears in MLflow (see the README's "MLflow" section): the experiment
// per docs/conventions.md, one MLflow run per execution, its folds as nested runs, params flattened
// with dots, metrics with steps, artifacts by path. Pure: the tracker spools what it returns.

export interface MappingContext {
  /** `mlflow.user`. */
  user: string;
  /** The run's folder relative to the project root (`.paramflow/runs/<id>`): generated files go below it. */
  runDir: string;
  /** Time of the call, for values that carry no time of their own. */
  now: number;
  /** The run's name in MLflow; default `<pipeline> <short hash>` (sweeps pass the values that vary). */
  runName?: string;
  /** The run is a sweep's trial: its MLflow run is nested under the sweep's. */
  parent?: ParentRef;
}

/** What has been mapped so far for one run (updated by the functions below). */
export interface MappingState {
  /** Scopes whose create-run was issued. */
  scopes: Set<string>;
  /** `<scope>\0<key>` → value of scalar metrics already logged, so finish does not log them twice. */
  logged: Map<string, number>;
}

export const newMappingState = (): MappingState => ({ scopes: new Set(), logged: new Map() });

export function defaultRunName(record: RunRecord): string {
  return `${record.pipeline.name} ${record.runHash.slice(0, 8)}`;
}

/** At run start: the experiment, the run with its tags and params, and the resolved pipeline. */
export function mapStart(record: RunRecord, ctx: MappingContext, state: MappingState): Mapped {
  const out: Mapped = { ops: [{ op: 'experiment', name: record.pipeline.experiment }], files: [], skipped: [] };
  const runName = ctx.runName ?? defaultRunName(record);
  const base = baseTags(record, ctx, RUN_SCOPE);
  out.ops.push({
    op: 'create-run',
    scope: RUN_SCOPE,
    ...(ctx.parent ? { parent: ctx.parent } : {}),
    runName,
    startTime: timestampOf(record.startedAt, ctx.now),
    userId: ctx.user,
    tags: [{ key: 'mlflow.runName', value: runName }, ...base],
  });
  state.scopes.add(RUN_SCOPE);

  const tags: KeyValue[] = [
    { key: 'mlflow.source.type', value: 'LOCAL' },
    { key: 'paramflow.run_hash', value: record.runHash },
    { key: 'paramflow.pipeline', value: record.pipeline.name },
    { key: 'paramflow.version', value: record.environment.paramflow },
    ...(record.environment.git ? [{ key: 'paramflow.git.dirty', value: String(record.environment.git.dirty) }] : []),
    ...(record.environment.backend ? [{ key: 'paramflow.backend', value: record.environment.backend.name }] : []),
    ...Object.entries(record.stages).map(([name, s]) => ({ key: `paramflow.stage.${name}.key`, value: s.key })),
    ...(record.sweep
      ? [
          { key: 'paramflow.sweep_id', value: record.sweep.sweep },
          { key: 'paramflow.trial', value: record.sweep.trial },
          { key: 'paramflow.replicate', value: String(record.sweep.replicate) },
        ]
      : []),
  ];
  const params = runParams(record, ctx, out);
  pushBatches(out, RUN_SCOPE, { params, tags: keepLoggable(tags, out, MAX_TAG_VALUE_LENGTH) });
  const pipelineYaml = `${ctx.runDir}/mlflow/pipeline.yaml`;
  out.files.push({ file: pipelineYaml, content: stringify(record.resolved) });
  out.ops.push(artifactOp(RUN_SCOPE, 'pipeline.yaml', pipelineYaml));
  return out;
}

/**
 * When a stage has finished (executed or taken from the cache): its metrics and curves on
 * the run, its folds as nested runs, and the files it hands over (plots, model).
 */
export function mapStage(
  record: RunRecord,
  stage: string,
  files: readonly { path: string; file: string }[],
  ctx: MappingContext,
  state: MappingState,
): Mapped {
  const out: Mapped = { ops: [], files: [], skipped: [] };
  const s = record.stages[stage];
  if (!s) return out;
  const at = s.startedAt ? timestampOf(s.startedAt, ctx.now) + (s.durationMs ?? 0) : ctx.now;
  pushBatches(out, RUN_SCOPE, {
    metrics: [...scalars(s.metrics ?? {}, at, RUN_SCOPE, state, out), ...curves(s.series ?? {}, out)],
  });
  for (const fold of s.folds ?? []) {
    const scope = foldScope(fold.fold);
    if (!state.scopes.has(scope)) {
      state.scopes.add(scope);
      const runName = scope;
      const tags = [
        { key: 'mlflow.runName', value: runName },
        ...baseTags(record, ctx, scope),
        { key: 'paramflow.fold', value: String(fold.fold) },
      ];
      out.ops.push({
        op: 'create-run',
        scope,
        parent: RUN_SCOPE,
        runName,
        startTime: s.startedAt ? timestampOf(s.startedAt, ctx.now) : ctx.now,
        userId: ctx.user,
        tags,
      });
    }
    pushBatches(out, scope, {
      metrics: [...scalars(fold.metrics, at, scope, state, out), ...curves(fold.series, out)],
    });
  }
  for (const f of files) out.ops.push(artifactOp(RUN_SCOPE, f.path.split('\\').join('/'), f.file));
  return out;
}

/** At the end: run-level metrics not logged yet, run.json, and every run's final status. */
export function mapFinish(record: RunRecord, ctx: MappingContext, state: MappingState): Mapped {
  const out: Mapped = { ops: [], files: [], skipped: [] };
  const end = record.endedAt ? timestampOf(record.endedAt, ctx.now) : ctx.now;
  pushBatches(out, RUN_SCOPE, { metrics: scalars(record.metrics, end, RUN_SCOPE, state, out) });
  out.ops.push(artifactOp(RUN_SCOPE, 'run.json', `${ctx.runDir}/run.json`));
  const status = record.status === 'RUNNING' ? 'KILLED' : record.status;
  const folds = [...state.scopes].filter((sc) => sc !== RUN_SCOPE).sort();
  for (const scope of [...folds, RUN_SCOPE]) out.ops.push({ op: 'update-run', scope, status, endTime: end });
  return out;
}

function baseTags(record: RunRecord, ctx: MappingContext, scope: string): KeyValue[] {
  return [
    { key: 'mlflow.user', value: ctx.user },
    { key: 'mlflow.source.name', value: record.pipeline.file },
    ...(record.environment.git ? [{ key: 'mlflow.source.git.commit', value: record.environment.git.commit }] : []),
    { key: 'paramflow.run_id', value: record.runId },
    { key: 'paramflow.scope', value: scope },
  ];
}

/** The MLflow params of a resolved pipeline: each stage's `with:` flattened with dots, plus `seed`. */
export function pipelineParams(resolved: Record<string, unknown>): KeyValue[] {
  const r = resolved as { seed?: unknown; stages?: Record<string, { with?: unknown }> };
  const all: KeyValue[] = [];
  for (const [name, st] of Object.entries(r.stages ?? {})) flattenParams(st.with ?? {}, name, all);
  if (r.seed !== undefined) all.push({ key: 'seed', value: String(r.seed) });
  return all;
}

/** The param names a resolved pipeline gives MLflow: check them with `mlflowKeyProblems` at validation. */
export function pipelineParamKeys(resolved: Record<string, unknown>): string[] {
  return pipelineParams(resolved).map((p) => p.key);
}

function runParams(record: RunRecord, ctx: MappingContext, out: Mapped): KeyValue[] {
  const byKey = new Map<string, string>();
  for (const p of pipelineParams(record.resolved)) byKey.set(p.key, p.value); // MLflow refuses a batch naming one param twice
  const params: KeyValue[] = [];
  for (const [key, value] of byKey) {
    if (!isLoggableKey(key, out)) continue;
    if ([...value].length > MAX_PARAM_VALUE_LENGTH) {
      const file = `${ctx.runDir}/mlflow/params/${key}.txt`;
      out.files.push({ file, content: value });
      out.ops.push(artifactOp(RUN_SCOPE, `params/${key}.txt`, file));
      params.push({ key, value: `${truncateChars(value, MAX_PARAM_VALUE_LENGTH - 1)}…` });
    } else {
      params.push({ key, value });
    }
  }
  return params;
}

function scalars(
  metrics: Record<string, number>,
  timestamp: number,
  scope: string,
  state: MappingState,
  out: Mapped,
): Metric[] {
  const res: Metric[] = [];
  for (const [key, v] of Object.entries(metrics)) {
    const id = `${scope}\u0000${key}`;
    if (state.logged.has(id) && Object.is(state.logged.get(id), v)) continue;
    if (!isLoggableKey(key, out)) continue;
    state.logged.set(id, v);
    res.push({ key, value: metricValue(v), timestamp, step: 0 });
  }
  return res;
}

function curves(series: Record<string, MetricPoint[]>, out: Mapped): Metric[] {
  const res: Metric[] = [];
  for (const [key, points] of Object.entries(series)) {
    if (!isLoggableKey(key, out)) continue;
    for (const p of points)
      res.push({ key, value: metricValue(p.value), timestamp: Math.round(p.timestamp), step: Math.round(p.step) });
  }
  return res;
}
