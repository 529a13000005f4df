import { posix, relative, sep } from 'node:path';
import { redactSecrets } from '../../util/redact.js';
import { stringify } from 'yaml';
import { canonicalJson } from '../../hash/canonical-json.js';
import { sha256 } from '../../hash/sha256.js';
import { summarize, type SweepRecord } from '../sweep-record.js';
import type { Layout } from '../../project/layout.js';
import { flattenParams, metricValue } from './flatten.js';
import { MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH, truncateChars } from './limits.js';
import { artifactOp, isLoggableKey, keepLoggable, pushBatches, timestampOf, type Mapped } from './mapped-ops.js';
import { SWEEP_SCOPE } from './ops.js';
import { sweepDir } from './spool.js';
import type { KeyValue, Metric } from './types.js';

// How a sweep appears in MLflow: one parent run (scope `sweep`, in the sweep's own spool)
// with the trial replicates' runs nested under it (their folds under them), so the UI
// shows sweep → trials → folds as expandable rows. Trials are named by the values that
// vary (`batch_size=16 relative=0.05`), since the runs table shows names first. At the
// end the parent gets the best trial's values as params, the objective (mean and
// `<metric>_std`) as metrics, and the sweep's status. Pure, like mapping.ts.

export interface SweepContext {
  /** `mlflow.user`. */
  user: string;
  /** The sweep's folder relative to the project root (`.paramflow/sweeps/<id>`): generated files go below it. */
  sweepDir: string;
  now: number;
  /** The resolved base pipeline (shared overrides applied, no trial values): the sweep's identity with its spec. */
  resolved?: Record<string, unknown>;
  git?: { commit: string; dirty: boolean } | null;
  version?: string;
  /** At finish: the MLflow run ids of the best trial's replicates, where known here. */
  bestMlflowRuns?: readonly string[];
}

export const sweepDirOf = (layout: Layout, sweepId: string): string =>
  relative(layout.root, sweepDir(layout, sweepId)).split(sep).join('/');

/** `quick sweep 20261125-171503`: the pipeline and the start of the sweep id (a ref `paramflow runs --sweep` takes). */
export function sweepRunName(record: Pick<SweepRecord, 'sweepId' | 'pipeline'>): string {
  return `${record.pipeline.name} sweep ${record.sweepId.replace(/^sweep-/, '').slice(0, 15)}`;
}

/** What identifies a sweep's content (pipeline and sweep, not when it ran): `paramflow.sweep_hash`. */
export function sweepHash(
  record: Pick<SweepRecord, 'spec' | 'pipeline'>,
  resolved: Record<string, unknown> | undefined,
): string {
  return sha256(canonicalJson({ pipeline: resolved ?? record.pipeline.file, sweep: record.spec }));
}

/**
 * Names for the trials' runs: the values that vary between trials, each under the
 * shortest tail of its key that tells it from the others (`batch_size=16 relative=0.05`),
 * and ` rep=<r>` when the sweep has several replicates.
 */
export function trialNamer(
  trials: readonly Named[],
  replicates: number,
  spec?: Pick<SweepRecord['spec'], 'tpe' | 'grid' | 'random'>,
): (trial: Named, replicate: number) => string {
  // A search proposes its trials as it goes: every key of its space varies.
  const searched = spec?.tpe ? [...Object.keys(spec.grid ?? {}), ...Object.keys(spec.random?.params ?? {})] : [];
  const keys = searched.length > 0 ? searched : [...new Set(trials.flatMap((t) => Object.keys(t.values)))];
  const varying =
    searched.length > 0
      ? searched
      : keys.filter((k) => new Set(trials.map((t) => canonicalJson(t.values[k] ?? null))).size > 1);
  const shown = varying.length > 0 ? varying : keys;
  const short = shortKeys(shown);
  return (trial, replicate) => {
    const parts = shown
      .filter((k) => k in trial.values)
      .map((k) => `${short.get(k)}=${trial.labels?.[k] ?? formatValue(trial.values[k])}`);
    const name = `${parts.length > 0 ? parts.join(' ') : trial.id}${replicates > 1 ? ` rep=${replicate}` : ''}`;
    return truncateChars(name, 250);
  };
}

/** A trial as naming sees it: its values, and the names of those swept over named choices. */
type Named = { id: string; values: Record<string, unknown>; labels?: Record<string, string> };

/** Each key's shortest dotted tail that no other key shares (`train.batch_size` → `batch_size`). */
export function shortKeys(keys: readonly string[]): Map<string, string> {
  const segs = new Map(keys.map((k) => [k, k.split('.')]));
  const n = new Map(keys.map((k) => [k, 1]));
  const tail = (k: string) => segs.get(k)!.slice(-n.get(k)!).join('.');
  for (let changed = true; changed;) {
    changed = false;
    const by = new Map<string, string[]>();
    for (const k of keys) by.set(tail(k), [...(by.get(tail(k)) ?? []), k]);
    for (const group of by.values()) {
      if (group.length < 2) continue;
      for (const k of group) {
        if (n.get(k)! < segs.get(k)!.length) {
          n.set(k, n.get(k)! + 1);
          changed = true;
        }
      }
    }
  }
  return new Map(keys.map((k) => [k, tail(k)]));
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === 'string') return /\s/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** At sweep start: the experiment, the parent run with its identity and the sweep's spec (params, and `sweep.yaml`). */
export function mapSweepStart(record: SweepRecord, ctx: SweepContext): Mapped {
  const out: Mapped = { ops: [{ op: 'experiment', name: record.pipeline.experiment }], files: [], skipped: [] };
  const runName = sweepRunName(record);
  const tags: KeyValue[] = [
    { key: 'mlflow.runName', value: runName },
    { key: 'mlflow.user', value: ctx.user },
    { key: 'mlflow.source.name', value: record.pipeline.file },
    { key: 'mlflow.source.type', value: 'LOCAL' },
    ...(ctx.git ? [{ key: 'mlflow.source.git.commit', value: ctx.git.commit }] : []),
    { key: 'paramflow.sweep_id', value: record.sweepId },
    { key: 'paramflow.scope', value: SWEEP_SCOPE },
  ];
  out.ops.push({
    op: 'create-run',
    scope: SWEEP_SCOPE,
    runName,
    startTime: timestampOf(record.startedAt, ctx.now),
    userId: ctx.user,
    tags,
  });
  const more: KeyValue[] = [
    { key: 'paramflow.sweep_hash', value: sweepHash(record, ctx.resolved) },
    { key: 'paramflow.pipeline', value: record.pipeline.name },
    ...(ctx.version ? [{ key: 'paramflow.version', value: ctx.version }] : []),
    ...(ctx.git ? [{ key: 'paramflow.git.dirty', value: String(ctx.git.dirty) }] : []),
    { key: 'paramflow.objective', value: `${record.spec.objective.metric} (${record.spec.objective.goal})` },
    {
      key: 'paramflow.trials',
      value: record.spec.tpe ? `tpe, up to ${record.spec.budget?.trials ?? '–'}` : String(record.trials.length),
    },
    { key: 'paramflow.replicates', value: String(record.spec.replicates) },
  ];
  const params = flattenParams(record.spec, 'sweep')
    .filter((p) => isLoggableKey(p.key, out))
    .map((p) => ({
      key: p.key,
      value:
        [...p.value].length > MAX_PARAM_VALUE_LENGTH
          ? `${truncateChars(p.value, MAX_PARAM_VALUE_LENGTH - 1)}…`
          : p.value,
    }));
  pushBatches(out, SWEEP_SCOPE, { params, tags: keepLoggable(more, out, MAX_TAG_VALUE_LENGTH) });
  const file = `${ctx.sweepDir}/mlflow/sweep.yaml`;
  const doc = {
    pipeline: record.pipeline.file,
    overrides: record.overrides.map(redactSecrets),
    sweep: record.spec,
    trials: record.trials.map((t) => ({ id: t.id, values: t.values })),
  };
  out.files.push({ file, content: stringify(doc) });
  out.ops.push(artifactOp(SWEEP_SCOPE, 'sweep.yaml', file));
  return out;
}

/**
 * At sweep end: the best trial's swept values as params, the objective as metrics
 * (`<metric>` = the best trial's mean over its replicates and, from two replicates on,
 * `<metric>_std`; `paramflow.best_replicates` says how many), `sweep.json`,
 * the objective plots (`plots`: files relative to the project root, logged under `plots/`),
 * and the parent's final status.
 */
export function mapSweepFinish(record: SweepRecord, ctx: SweepContext, plots: readonly string[] = []): Mapped {
  const out: Mapped = { ops: [], files: [], skipped: [] };
  const end = record.endedAt ? timestampOf(record.endedAt, ctx.now) : ctx.now;
  const best = record.best;
  const reps = record.trials.flatMap((t) => t.replicates);
  const pruned = reps.filter((r) => r.status === 'PRUNED').length;
  const tags: KeyValue[] = [
    { key: 'paramflow.trials.finished', value: String(reps.filter((r) => r.status === 'FINISHED').length) },
    { key: 'paramflow.trials.failed', value: String(reps.filter((r) => r.status === 'FAILED').length) },
    ...(pruned > 0 || record.spec.prune ? [{ key: 'paramflow.trials.pruned', value: String(pruned) }] : []),
    ...(record.stopped ? [{ key: 'paramflow.stopped', value: record.stopped }] : []),
  ];
  const params: KeyValue[] = [];
  const metrics: Metric[] = [];
  if (best) {
    const byKey = new Map<string, string>();
    for (const [k, v] of Object.entries(best.values)) for (const p of flattenParams(v, k)) byKey.set(p.key, p.value);
    for (const [k, name] of Object.entries(best.labels ?? {})) byKey.set(`${k}.choice`, name);
    for (const [key, value] of byKey)
      if (isLoggableKey(key, out)) params.push({ key, value: truncateChars(value, MAX_PARAM_VALUE_LENGTH) });
    const metric = record.spec.objective.metric;
    // The objective as the best so far after each trial (step = trial number, in the order run):
    // its chart is the search's progress, and its last value, the one tables show, is the best.
    if (isLoggableKey(metric, out)) metrics.push(...bestSoFar(record, end));
    // A spread needs two replicates: one gives no `_std` (a 0 would read as "no spread").
    if (best.objective.n >= 2 && isLoggableKey(`${metric}_std`, out))
      metrics.push({ key: `${metric}_std`, value: metricValue(best.objective.std), timestamp: end, step: 0 });
    tags.push({ key: 'paramflow.best_trial', value: best.trial });
    tags.push({ key: 'paramflow.best_replicates', value: String(best.objective.n) });
    const runs =
      record.trials
        .find((t) => t.id === best.trial)
        ?.replicates.flatMap((r) => (r.runId && r.status === 'FINISHED' ? [r.runId] : [])) ?? [];
    if (runs.length > 0) tags.push({ key: 'paramflow.best_runs', value: runs.join(',') });
    // MLflow's ids, for a notebook's `mlflow.get_run` (paramflow's ids name local run folders).
    if (ctx.bestMlflowRuns?.length)
      tags.push({ key: 'paramflow.best_mlflow_runs', value: ctx.bestMlflowRuns.join(',') });
  }
  tags.push({ key: 'mlflow.note.content', value: sweepDescription(record) });
  pushBatches(out, SWEEP_SCOPE, { params, metrics, tags: keepLoggable(tags, out, MAX_TAG_VALUE_LENGTH) });
  out.ops.push(artifactOp(SWEEP_SCOPE, 'sweep.json', `${ctx.sweepDir}/sweep.json`));
  for (const file of plots) out.ops.push(artifactOp(SWEEP_SCOPE, `plots/${posix.basename(file)}`, file));
  out.ops.push({
    op: 'update-run',
    scope: SWEEP_SCOPE,
    status: record.status === 'RUNNING' ? 'KILLED' : record.status,
    endTime: end,
  });
  return out;
}

/** The sweep run's description in the UI: the best trial and its objective first, then how to compare. */
function sweepDescription(record: SweepRecord): string {
  const { metric, goal } = record.spec.objective;
  const name = trialNamer(record.trials, record.spec.replicates, record.spec);
  const reps = record.trials.flatMap((t) => t.replicates);
  const done = reps.filter((r) => r.status === 'FINISHED').length;
  const failed = reps.filter((r) => r.status === 'FAILED').length;
  const pruned = reps.filter((r) => r.status === 'PRUNED').length;
  const best = record.best;
  const lines = [
    best
      ? `**best ${metric} = ${best.objective.mean.toPrecision(6)}**${best.objective.n > 1 ? ` ± ${best.objective.std.toPrecision(2)} (${best.objective.n} replicates)` : ''}, trial **${name({ id: best.trial, values: best.values, ...(best.labels ? { labels: best.labels } : {}) }, 0)}** (\`${best.trial}\`): ${Object.entries(
          best.values,
        )
          .map(([k, v]) => `${k}=${best.labels?.[k] ?? JSON.stringify(v)}`)
          .join(', ')}`
      : `**no trial finished** (${metric}, ${goal})`,
    `${record.trials.length} trials, ${done} replicate runs finished${failed ? `, ${failed} failed` : ''}${pruned ? `, ${pruned} pruned` : ''}; objective: ${metric} (${goal}).${record.stopped ? ` Stopped proposing: ${record.stopped}.` : ''}`,
    `Compare the trials: with the runs table sorted by Created, expand this run (the ⊞ before its colour dot), tick its trial runs, then Compare (the nested fold runs are not needed).`,
  ];
  return lines.join('\n\n');
}

/** The best trial objective so far after each scored trial, at step = its 1-based position. */
function bestSoFar(record: SweepRecord, timestamp: number): Metric[] {
  const sign = record.spec.objective.goal === 'minimize' ? 1 : -1;
  let best: number | undefined;
  const out: Metric[] = [];
  record.trials.forEach((t, i) => {
    const objective = t.objective ?? summarize(t);
    if (!objective) return;
    if (best === undefined || sign * objective.mean < sign * best) best = objective.mean;
    out.push({ key: record.spec.objective.metric, value: metricValue(best), timestamp, step: i + 1 });
  });
  return out;
}
