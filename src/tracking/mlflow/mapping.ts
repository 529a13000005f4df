import { stringify } from 'yaml';
import type { FoldEvent, MetricPoint } from '../../stage-contract/types.js';
import type { RunRecord } from '../run-record.js';
import { flattenParams, metricValue } from './flatten.js';
import { MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH, truncateChars } from './limits.js';
import { artifactOp, isLoggableKey, keepLoggable, pushBatches, timestampOf, type Mapped } from './mapped-ops.js';
import { foldScope, RUN_SCOPE, type ParentRef } from './ops.js';
import {
  createFold,
  foldMeanCurves,
  mapFoldEvents,
  unstreamed,
  type FoldMappingState,
  type FoldNaming,
} from './fold-mapping.js';
import type { KeyValue, Metric } from './types.js';
import { browsableRepoUrl, OBJECTIVE_METRIC, runDescription } from './description.js';

// How a paramflow run appears in MLflow (docs/mlflow.md): the experiment
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

/** What has been mapped so far for one run (updated by the functions below and fold-mapping.ts). */
export interface MappingState extends FoldMappingState {
  /** `<scope>\0<key>` → value of scalar metrics already logged, so finish does not log them twice. */
  logged: Map<string, number>;
}

export const newMappingState = (): MappingState => ({
  scopes: new Set(),
  logged: new Map(),
  streamed: new Map(),
  ended: new Set(),
});

/** How a run's folds are named and tagged (fold-mapping.ts). */
export function foldNaming(record: RunRecord, ctx: MappingContext): FoldNaming {
  return {
    runName: ctx.runName ?? defaultRunName(record),
    user: ctx.user,
    baseTags: (scope) => baseTags(record, ctx, scope),
  };
}

/** A stage's fold events (start, epochs, end) while it trains. */
export function mapFolds(
  record: RunRecord,
  stage: string,
  events: readonly FoldEvent[],
  ctx: MappingContext,
  state: MappingState,
): Mapped {
  return mapFoldEvents(stage, events, foldNaming(record, ctx), state);
}

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
    ...gitTags(record),
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
  const started = s.startedAt ? timestampOf(s.startedAt, ctx.now) : ctx.now;
  const at = s.startedAt ? started + (s.durationMs ?? 0) : ctx.now;
  const cached = s.status === 'cached';
  // The run's own metrics wait for its end (mapFinish): MLflow's compare view opens on the
  // first metric a run logged, and that should be the objective, not the trainer's.
  pushBatches(out, RUN_SCOPE, {
    tags: [
      { key: `paramflow.stage.${stage}.status`, value: s.status },
      ...(s.durationMs !== undefined && !cached
        ? [{ key: `paramflow.stage.${stage}.seconds`, value: (s.durationMs / 1000).toFixed(1) }]
        : []),
    ].filter((t) => isLoggableKey(t.key, out)),
  });
  const naming = foldNaming(record, ctx);
  for (const fold of s.folds ?? []) {
    const scope = foldScope(fold.fold);
    // Folds that streamed have their run already; a cached stage's (or a resumed fold's) gets it now.
    createFold(
      out,
      state,
      scope,
      fold.fold,
      stage,
      started,
      naming,
      cached ? [{ key: 'paramflow.cached', value: 'true' }] : [],
    );
    pushBatches(out, scope, {
      metrics: [...scalars(fold.metrics, at, scope, state, out), ...curves(fold.series, scope, state, out)],
    });
    if (cached && !state.ended.has(scope)) {
      out.ops.push({ op: 'update-run', scope, status: 'FINISHED', endTime: at });
      state.ended.add(scope);
    }
  }
  for (const f of files) out.ops.push(artifactOp(RUN_SCOPE, f.path.split('\\').join('/'), f.file));
  return out;
}

/** At the end: run-level metrics not logged yet, run.json, and every run's final status. */
export function mapFinish(record: RunRecord, ctx: MappingContext, state: MappingState): Mapped {
  const out: Mapped = { ops: [], files: [], skipped: [] };
  const end = record.endedAt ? timestampOf(record.endedAt, ctx.now) : ctx.now;
  pushBatches(out, RUN_SCOPE, {
    metrics: runMetrics(record, end, state, out),
    tags: keepLoggable(
      [
        { key: 'mlflow.note.content', value: runDescription(record) },
        ...(record.pruned
          ? [{ key: 'paramflow.pruned', value: `epoch ${record.pruned.epoch}: ${record.pruned.reason}` }]
          : []),
      ],
      out,
      MAX_TAG_VALUE_LENGTH,
    ),
  });
  out.ops.push(artifactOp(RUN_SCOPE, 'run.json', `${ctx.runDir}/run.json`));
  const status = record.status === 'RUNNING' ? 'KILLED' : record.status;
  const folds = [...state.scopes].filter((sc) => sc !== RUN_SCOPE && !state.ended.has(sc)).sort();
  for (const scope of [...folds, RUN_SCOPE]) out.ops.push({ op: 'update-run', scope, status, endTime: end });
  return out;
}

/**
 * The run's own metrics, objective first (MLflow's compare view opens on a run's first metric):
 * its scalars (a dead run's from its finished stages) and its stages' curves and fold-mean curves.
 */
export function runMetrics(record: RunRecord, end: number, state: MappingState, out: Mapped): Metric[] {
  const scalarsOf: Record<string, number> = Object.assign(
    {},
    ...Object.values(record.stages).map((s) => s.metrics ?? {}),
    record.metrics,
  );
  const objective: Record<string, number> =
    OBJECTIVE_METRIC in scalarsOf ? { [OBJECTIVE_METRIC]: scalarsOf[OBJECTIVE_METRIC]! } : {};
  return [
    ...scalars(objective, end, RUN_SCOPE, state, out),
    ...scalars(scalarsOf, end, RUN_SCOPE, state, out),
    ...Object.values(record.stages).flatMap((s) => [
      ...curves(s.series ?? {}, RUN_SCOPE, state, out),
      ...curves(foldMeanCurves(s.folds ?? []), RUN_SCOPE, state, out),
    ]),
  ];
}

/** Git facts the UI shows (the branch, a link from the commit to the repository) and whether the tree was dirty. */
function gitTags(record: RunRecord): KeyValue[] {
  const git = record.environment.git;
  if (!git) return [];
  const repo = git.remote ? browsableRepoUrl(git.remote) : undefined;
  return [
    { key: 'paramflow.git.dirty', value: String(git.dirty) },
    ...(git.branch ? [{ key: 'mlflow.source.git.branch', value: git.branch }] : []),
    ...(repo ? [{ key: 'mlflow.source.git.repoURL', value: repo }] : []),
  ];
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
  // A trial of named choices: the name beside the value (`train.layers.choice = bn-output`), a param of its own.
  for (const [k, name] of Object.entries(record.sweep?.labels ?? {})) byKey.set(`${k}.choice`, name);
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

function curves(series: Record<string, MetricPoint[]>, scope: string, state: MappingState, out: Mapped): Metric[] {
  const res: Metric[] = [];
  for (const [key, points] of Object.entries(series)) {
    if (!isLoggableKey(key, out)) continue;
    for (const p of unstreamed(scope, key, points, state)) {
      res.push({ key, value: metricValue(p.value), timestamp: Math.round(p.timestamp), step: Math.round(p.step) });
      // Mapped again (a retried finish), the points already out are not sent twice.
      state.streamed.set(
        `${scope}\u0000${key}`,
        Math.max(p.step, state.streamed.get(`${scope}\u0000${key}`) ?? -Infinity),
      );
    }
  }
  return res;
}
