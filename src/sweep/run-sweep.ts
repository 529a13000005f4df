import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { readFileSync } from 'node:fs';
import { Layout } from '../project/layout.js';
import { ParamflowError } from '../util/errors.js';
import { loadRunnablePipeline, type RunnablePipeline } from '../pipeline/load.js';
import type { Override } from '../config/spec.js';
import { YamlSource } from '../config/yaml-source.js';
import { builtinRegistry } from '../stage-contract/registry.js';
import { newRunId } from '../tracking/run-id.js';
import { RunStore } from '../tracking/run-store.js';
import { HOST } from '../util/process-alive.js';
import { expandTrials, replicateSeed, type Trial } from './expand.js';
import { ProcessTrialExecutor } from './executors/process.js';
import type { TrialExecutor } from './trial-executor.js';
import { bestTrial, type ReplicateRecord, type SweepRecord, type TrialRecord } from '../tracking/sweep-record.js';
import { canonicalJson } from '../hash/canonical-json.js';
import { sha256 } from '../hash/sha256.js';
import { listProposer, tpeProposer } from './proposer.js';
import { searchSpace, type Axis } from './search/space.js';
import { Pruner, rungRule } from './prune/pruner.js';
import { driveTrials, earlierPruned, type RunReplicate } from './trial-loop.js';
import { checkSweepSize, type SweepSpec } from '../config/sweep-spec.js';
import { loadWithSweep } from './find.js';
import { SweepStore } from './store.js';
import { formatProgress, formatValues } from './progress.js';
import { trialNamer } from '../tracking/mlflow/sweep-mapping.js';

export interface SweepOptions {
  file: string;
  overrides: readonly Override[];
  /** `--sweep KEY=V1,V2` flags. */
  sweepFlags: readonly Override[];
  jobs?: number;
  noCache?: boolean;
  backend?: string;
  failFast?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
  executor?: TrialExecutor;
  /** Builds the executor once the pipeline is loaded (`--executor slurm` reads its `executor.slurm:`). */
  makeExecutor?: (base: RunnablePipeline, layout: Layout) => TrialExecutor;
  /** The pipeline and its sweep as loadWithSweep already returned them (`paramflow run` loads once). */
  found?: { base: RunnablePipeline; spec: SweepSpec };
}

/** The sweep of a pipeline (file `sweep:` and `--sweep` flags), or undefined when it has none. */
export async function sweepOf(
  file: string,
  overrides: readonly Override[],
  flags: readonly Override[],
): Promise<{ base: RunnablePipeline; spec: SweepSpec } | undefined> {
  const { base, spec } = await loadWithSweep(file, overrides, flags);
  return spec ? { base, spec } : undefined;
}

/**
 * The sweep's trials, each validated like a `--set` run (a bad value is bad input, exit 2,
 * located at its sweep key), or undefined when the pipeline has no sweep.
 */
export async function prepareSweep(
  file: string,
  overrides: readonly Override[],
  flags: readonly Override[],
  loaded?: { base: RunnablePipeline; spec: SweepSpec },
): Promise<{ base: RunnablePipeline; spec: SweepSpec; trials: Trial[] } | undefined> {
  const found = loaded ?? (await sweepOf(file, overrides, flags));
  if (!found) return undefined;
  const locations = sweepKeyLocations(found.base.file, file, flags);
  checkSweepSize(found.spec, locations, locations[SWEEP_AT] ?? { file: '<command line>', line: 1, column: 1 });
  refuseNonFinite(found.spec, locations);
  checkSearch(found.spec, locations[SWEEP_AT] ?? { file: '<command line>', line: 1, column: 1 });
  // A model-based search's trials are proposed as it goes: its axes' ends are validated instead.
  const trials = found.spec.tpe ? axisProbes(searchSpace(found.spec)) : expandTrials(found.spec, found.base.seed);
  // One read of the file for all trials; loadRunnablePipeline parses it once and copies it per trial.
  const text = readFileSync(found.base.file, 'utf8');
  const registry = await builtinRegistry();
  for (const t of trials)
    await loadRunnablePipeline(file, {
      registry,
      text,
      withoutSweep: true,
      overrides: [...overrides, ...trialOverrides(t, locations)],
    });
  return { ...found, trials: found.spec.tpe ? [] : trials };
}

/** What the schema cannot say about a sweep's blocks together. */
function checkSearch(spec: SweepSpec, at: Override['location'] & object): void {
  const refuse = (message: string, hint: string) => {
    throw new ParamflowError('PF_SCHEMA', message, { location: at, hint });
  };
  if (spec.tpe) {
    if (!spec.budget) refuse('sweep.tpe needs a budget: it proposes trials until it is spent', 'add e.g. `budget: { trials: 30 }` to the sweep');
    if (!spec.grid && !spec.random) refuse('sweep.tpe has no space to search', 'list the keys to search under `grid:` (choices) and `random: { params: … }` (ranges)');
  } else if (spec.random && spec.random.trials === undefined) {
    refuse('sweep.random needs `trials`: how many draws', 'add e.g. `trials: 20` under `random:`, or add `tpe: {}` for a model-based search');
  }
}

/**
 * A model-based search's validation probes: each axis at each end (every choice, each range's
 * low and high) with the other axes at their first value or low end — bad values are found
 * before a trial runs, as for a grid.
 */
function axisProbes(axes: readonly Axis[]): Trial[] {
  const ends = (a: Axis): unknown[] => (a.kind === 'categorical' ? a.values : [a.low, a.high]);
  const base = Object.fromEntries(axes.map((a) => [a.key, ends(a)[0]]));
  return axes.flatMap((a) => ends(a).map((v) => ({ id: '', values: { ...base, [a.key]: v } })));
}

/** Runs every trial × replicate as its own `paramflow run`, `jobs` at a time; records the sweep. */
export async function runSweep(o: SweepOptions): Promise<SweepRecord | undefined> {
  const prepared = await prepareSweep(o.file, o.overrides, o.sweepFlags, o.found);
  if (!prepared) return undefined;
  const { base, spec, trials } = prepared;

  const layout = new Layout(base.root);
  const store = new SweepStore(layout);
  const proposer = spec.tpe ? tpeProposer(spec, base.seed) : listProposer(trials);
  const newTrial = (t: Trial): TrialRecord => ({
    id: t.id,
    values: t.values,
    ...(t.labels ? { labels: t.labels } : {}),
    replicates: Array.from(
      { length: spec.replicates },
      (_, r) =>
        ({
          replicate: r,
          seed: replicateSeed(trialSeed(t, base), r),
          status: 'pending',
          attempts: 0,
        }) satisfies ReplicateRecord,
    ),
  });
  const record: SweepRecord = {
    format: 1,
    sweepId: `sweep-${newRunId()}`,
    pipeline: { name: base.name, file: relative(base.root, base.file), experiment: base.tracking.experiment },
    spec,
    overrides: o.overrides.map((x) => x.text),
    status: 'RUNNING',
    pid: process.pid,
    host: HOST,
    startedAt: new Date().toISOString(),
    key: sha256(canonicalJson({ resolved: base.resolved, spec })).slice(0, 16),
    trials: (proposer.planned ?? []).slice(0, spec.budget?.trials ?? Infinity).map(newTrial),
  };
  const log = o.log ?? (() => undefined);
  let writes = store.write(record);
  const save = () => (writes = writes.then(() => store.write(record)));
  const planned = proposer.planned ? `${record.trials.length} trials` : `tpe, ${describeBudget(spec)}`;
  log(
    `sweep ${record.sweepId} · ${base.name} · ${planned} × ${spec.replicates} replicate(s) · objective ${spec.objective.metric} (${spec.objective.goal})${spec.prune ? ` · pruning: ${spec.prune.method}` : ''}`,
  );
  const slots = Math.max(1, Math.min(o.jobs ?? availableParallelism(), spec.budget?.trials ?? Infinity, proposer.planned ? record.trials.length * spec.replicates : Infinity));
  const executor: TrialExecutor = o.executor ?? o.makeExecutor?.(base, layout) ?? new ProcessTrialExecutor(base.root);
  if (spec.prune && executor.prunes === false) {
    await executor.close?.();
    throw new ParamflowError('PF_SCHEMA', `sweep.prune needs to hear from each trial while it trains; ${executor.name ?? 'this executor'} cannot`, {
      location: { file: relative(process.cwd(), base.file) || base.file },
      hint: 'run the sweep with --executor process (the default) or queue, or remove sweep.prune',
    });
  }
  executor.prepare?.(slots);
  // MLflow: the sweep's parent run, spooled before any trial starts (mlflow-parent.ts).
  const mlflow = base.tracking.uri
    ? await (await import('./mlflow-parent.js')).startSweepMlflow(base, record, log).catch(async (err: unknown) => {
        await executor.close?.(); // the workers prepare() started must not outlive a sweep that never ran
        throw err;
      })
    : undefined;
  const controller = new AbortController();
  o.signal?.addEventListener('abort', () => controller.abort(o.signal?.reason), { once: true });
  const started = Date.now();
  const runs = new RunStore(layout);
  // Progress lines name a trial as MLflow does: the values that vary, choices by their names.
  const trialName = trialNamer(record.trials, spec.replicates);
  const runReplicate: RunReplicate = async (t, r, rung) => {
    r.status = 'running';
    const sets = [
      ...record.overrides,
      ...trialOverrides(t, {}).map((x) => x.text),
      ...(r.replicate > 0 ? [`seed=${r.seed}`] : []),
    ];
    const env = mlflow ? await mlflow.env(t, r.replicate, executor.elsewhere) : undefined;
    // A worker that dies (killed, out of memory) gets one more attempt; bad input none.
    for (r.attempts = 1; r.attempts <= 2; r.attempts++) {
      const out = await executor.run(
        {
          file: base.file,
          sets,
          tag: {
            sweep: record.sweepId,
            trial: t.id,
            replicate: r.replicate,
            values: t.values,
            ...(t.labels ? { labels: t.labels } : {}),
          },
          noCache: Boolean(o.noCache),
          ...(o.backend ? { backend: o.backend } : {}),
          ...(env ? { env } : {}),
          ...(rung && spec.prune ? { prune: rungRule(spec.prune) } : {}),
          cwd: process.cwd(),
        },
        controller.signal,
        // What each running trial is doing, between the sweep's progress lines.
        (line) => log(`  ${t.id} ${trialName(t, r.replicate)}: ${line}`),
        rung,
      );
      if (out.ok) {
        r.runId = out.runId;
        r.objective = (await runs.read(out.runId)).metrics[spec.objective.metric];
        r.status = 'FINISHED';
        delete r.error;
        return;
      }
      r.error = out.message;
      if (out.runId) r.runId = out.runId;
      if (controller.signal.aborted) {
        r.status = 'KILLED';
        return;
      }
      log(
        `trial ${t.id} (${formatValues(t.values, t.labels)}) replicate ${r.replicate} attempt ${r.attempts} failed: ${out.message}`,
      );
      if (out.badInput) break;
    }
    r.attempts = Math.min(r.attempts, 2);
    r.status = 'FAILED';
  };
  try {
    await driveTrials({
      record,
      spec,
      proposer,
      newTrial,
      slots,
      signal: controller.signal,
      run: runReplicate,
      runs,
      ...(spec.prune ? { pruner: new Pruner(spec.prune) } : {}),
      earlier: spec.prune ? await earlierPruned(store, record.key!) : new Map(),
      log,
      after: async (_t, r) => {
        const best = bestTrial(record.trials, spec.objective.goal);
        log(formatProgress(record, best, spec.objective.metric, Date.now() - started));
        await save();
        if (o.failFast && r.status === 'FAILED') controller.abort(new Error('--fail-fast'));
      },
    });
  } finally {
    await executor.close?.();
  }
  const replicates = record.trials.flatMap((t) => t.replicates);
  for (const r of replicates) if (r.status === 'pending' || r.status === 'running') r.status = 'KILLED';

  const best = bestTrial(record.trials, spec.objective.goal);
  if (best?.objective)
    record.best = {
      trial: best.id,
      values: best.values,
      ...(best.labels ? { labels: best.labels } : {}),
      objective: best.objective,
    };
  if (record.stopped) log(`sweep ${record.sweepId}: stopped proposing trials (${record.stopped})`);
  // Pruned trials are the pruner doing its job: they never make the sweep fail.
  const failed = replicates.some((r) => r.status === 'FAILED');
  record.status = o.signal?.aborted ? 'KILLED' : failed ? 'FAILED' : 'FINISHED';
  record.endedAt = new Date().toISOString();
  await save();
  await mlflow?.finish(record); // MLflow: best trial, objective and status on the parent run
  return record;
}

function describeBudget(spec: SweepSpec): string {
  const b = spec.budget ?? {};
  return [b.trials ? `at most ${b.trials} trials` : '', b.minutes ? `${b.minutes} minutes` : ''].filter(Boolean).join(', ');
}

/** `.inf`, `.nan` or `1e400` among a key's values: no param takes them, and a trial id cannot hash them. */
function refuseNonFinite(spec: SweepSpec, locations: Record<string, Override['location']>): void {
  const lists: [string, unknown][] = [...Object.entries(spec.grid ?? {}), ...Object.entries(spec.random?.params ?? {})];
  for (const [key, values] of lists) {
    if (hasNonFinite(values)) {
      throw new ParamflowError(
        'PF_SCHEMA',
        `sweep key ${key}: a value is not a finite number (.inf, .nan or out of range)`,
        {
          ...(locations[key] ? { location: locations[key] } : {}),
          hint: 'sweep over finite numbers only',
        },
      );
    }
  }
}

function hasNonFinite(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) return true;
    if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
  return false;
}

function trialSeed(t: Trial, base: RunnablePipeline): number {
  return typeof t.values.seed === 'number' ? t.values.seed : base.seed;
}

/** A trial's values as `--set` overrides, located where the sweep key was written. */
function trialOverrides(t: Pick<Trial, 'values'>, locations: Record<string, Override['location']>): Override[] {
  return Object.entries(t.values).map(([k, v]) => ({
    text: `${k}=${JSON.stringify(v)}`,
    ...(locations[k] ? { location: locations[k] } : {}),
  }));
}

/** Not a sweep key (those start with a letter): where the file's sweep (or its random.trials) is written. */
const SWEEP_AT = '(sweep)';

function sweepKeyLocations(
  abs: string,
  file: string,
  flags: readonly Override[],
): Record<string, Override['location']> {
  const out: Record<string, Override['location']> = {};
  const src = YamlSource.parse(file, readFileSync(abs, 'utf8'));
  const sweep = (src.toJS() as { sweep?: { grid?: object; random?: { params?: object } } }).sweep;
  for (const k of Object.keys(sweep?.grid ?? {})) out[k] = src.locateKey(['sweep', 'grid'], k);
  for (const k of Object.keys(sweep?.random?.params ?? {})) out[k] = src.locateKey(['sweep', 'random', 'params'], k);
  if (sweep) out[SWEEP_AT] = sweep.random ? src.locateKey(['sweep', 'random'], 'trials') : src.locateKey([], 'sweep');
  for (const f of flags)
    out[f.text.slice(0, f.text.indexOf('='))] = { file: '<command line>', line: 1, column: f.column ?? 1 };
  return out;
}
