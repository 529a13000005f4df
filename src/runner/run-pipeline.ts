import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Layout } from '../project/layout.js';
import { CacheStore, COMPLETE } from '../cache/store.js';
import { loadRunnablePipeline, type RunnablePipeline } from '../pipeline/load.js';
import type { Override } from '../config/spec.js';
import { planPipeline, type Plan } from '../pipeline/plan.js';
import { writeContract } from '../stage-contract/module-contract.js';
import { builtinRegistry } from '../stage-contract/registry.js';
import { captureEnvironment } from '../tracking/environment.js';
import { newRunId } from '../tracking/run-id.js';
import { RUN_FORMAT, type RunRecord, type StageRecord } from '../tracking/run-record.js';
import { RunStore } from '../tracking/run-store.js';
import { HOST } from '../util/process-alive.js';
import { InProcessExecutor, type Executor } from './executor.js';
import type { StageProfile } from '../backend/profile.js';
import { silentReporter, type Reporter } from './reporter.js';
import { executeStages } from './schedule.js';
import type { SharedKeyLock } from './shared-lock.js';
import type { RunTracker } from '../tracking/run-tracker.js';
import { explainStages, previousDetails, type StageStatusReport } from './status.js';
import { PrunedSignal, rungWatcher, type RunPruner } from './pruning.js';
import type { ResourceEstimate } from '../pipeline/resources.js';
import { streamBytes } from './array-staging.js';

export interface RunOptions {
  file: string;
  overrides?: readonly Override[];
  /** Execute every stage even when its outputs are cached. */
  noCache?: boolean;
  /** Plan and explain, write nothing. */
  dryRun?: boolean;
  /** Stages run at once (independent ones only). */
  jobs?: number;
  reporter?: Reporter;
  signal?: AbortSignal;
  executor?: Executor;
  env?: Readonly<Record<string, string | undefined>>;
  /** `--backend`: tfjs-node, native, wasm or cpu (default: the fastest that loads). */
  backend?: string;
  /** `--profile`: time every TensorFlow kernel, per executed stage (RunSummary.profile). */
  profile?: boolean;
  /** This run is a replicate of a sweep's trial. */
  trial?: import('../tracking/sweep-record.js').TrialTag;
  /** The pipeline as `loadRunnablePipeline(file, { overrides })` already returned it (the CLI loads it once to look for a sweep). */
  loaded?: RunnablePipeline;
  /** The pipeline's text, used instead of reading `file` (which still places it: paths, project root). */
  source?: string;
  /** Cache, locks, checkpoints and run record under `<stateRoot>/.paramflow/` instead of the project's: repro's scratch cache. */
  stateRoot?: string;
  /** `false`: no MLflow logging, whatever the tracking URI. */
  tracking?: boolean;
  /** `false`: ignore `cache.remote` / PARAMFLOW_CACHE_REMOTE (repro's scratch cache does, implicitly). */
  remote?: boolean;
  /** A queue worker's cache-key locks across machines; used only when the run has a remote cache. */
  sharedLock?: SharedKeyLock;
  /** A sweep's pruner (a trial's run): asked at rung epochs, it may stop the run (status PRUNED). */
  pruner?: RunPruner;
  /** The environment, as `captureEnvironment(project root)` started earlier (its git processes overlap loading). */
  environment?: Promise<import('../tracking/run-record.js').Environment>;
}

export interface RunSummary {
  runId?: string;
  runHash: string;
  status: RunRecord['status'] | 'PLANNED';
  stages: Record<string, StageRecord>;
  executed: string[];
  cached: string[];
  record?: RunRecord;
  plan: Plan;
  /** Dry runs: what each stage would do and why. */
  explained?: StageStatusReport[];
  /** A dry run's estimate of what the run would write and hold (when some stage would execute). */
  resources?: ResourceEstimate;
  /** With `profile`: each executed stage's time and kernel times. */
  profile?: StageProfile[];
}

/** Loads, validates, plans and runs a pipeline; the one API behind `paramflow run`. */
export async function runPipeline(options: RunOptions): Promise<RunSummary> {
  const registry = await builtinRegistry();
  const pipeline =
    options.loaded ??
    (await loadRunnablePipeline(options.file, {
      registry,
      overrides: options.overrides ?? [],
      env: options.env,
      text: options.source,
    }));
  const plan = await planPipeline(pipeline, registry, { backend: options.backend, env: options.env });
  const layout = new Layout(options.stateRoot ?? pipeline.root);
  // A run that cannot fit is refused before anything is written (a dry run too: it says what a run would do).
  const resources = await checkRunResources(plan, layout, options.env ?? process.env);
  if (options.dryRun) {
    const explained = await explainStages(plan, layout);
    return {
      runHash: plan.runHash,
      status: 'PLANNED',
      stages: {},
      executed: [],
      cached: [],
      plan,
      explained,
      ...(resources ? { resources } : {}),
    };
  }

  const store = new RunStore(layout);
  const reporter = options.reporter ?? silentReporter;
  // Built before anything is written: a bad tracking URI is bad input (exit 2).
  // Opened before anything is written: a remote folder that is not there is bad input (exit 2).
  const remote =
    options.remote === false || options.stateRoot || !pipeline.cache
      ? undefined
      : await (await import('../cache/remote/remote.js')).openRemote(pipeline.cache.remote);
  // The MLflow client (undici) loads only for a run that is tracked.
  const tracker: RunTracker | undefined =
    options.tracking === false || !pipeline.tracking.uri
      ? undefined
      : (await import('../tracking/mlflow/tracker.js')).MlflowTracker.fromEnv(
          options.env ?? process.env,
          pipeline.tracking.uri,
          { layout, log: (line) => reporter.note(line) },
        );
  const record: RunRecord = {
    format: RUN_FORMAT,
    runId: newRunId(),
    runHash: plan.runHash,
    pipeline: {
      name: pipeline.name,
      file: relative(pipeline.root, pipeline.file),
      experiment: pipeline.tracking.experiment,
    },
    resolved: pipeline.resolved,
    status: 'RUNNING',
    pid: process.pid,
    host: HOST,
    startedAt: new Date().toISOString(),
    stages: Object.fromEntries(
      plan.stages.map((s) => [
        s.spec.name,
        { type: s.def.name, key: s.key.value, details: s.key.details, status: 'pending' } satisfies StageRecord,
      ]),
    ),
    metrics: {},
    environment: {
      ...(await (options.environment ?? captureEnvironment(pipeline.root))),
      ...(plan.backend
        ? { backend: { name: plan.backend.name, reason: plan.backend.reason, tfjs: plan.backend.tfjsVersion } }
        : {}),
    },
    options: { noCache: Boolean(options.noCache), overrides: (options.overrides ?? []).map((o) => o.text) },
    ...(options.trial ? { sweep: options.trial } : {}),
  };
  const started = Date.now();
  const previous = await previousDetails(
    store,
    record.pipeline,
    plan.stages.map((s) => s.spec.name),
  );
  // The next load of this pipeline then needs no import of its unchanged stage modules.
  for (const s of pipeline.stages)
    if (s.contract) await writeContract(layout.modulesDir, s.contract.digest, s.contract.value).catch(() => undefined);
  await store.write(record);
  tracker?.start(record);
  reporter.runStart({
    runId: record.runId,
    runHash: record.runHash,
    pipeline: pipeline.name,
    stages: plan.stages.length,
    ...(plan.backend ? { backend: `${plan.backend.name}: ${plan.backend.reason}` } : {}),
  });

  // The run's own signal: Ctrl-C (options.signal) or its sweep's pruner stops it.
  const stop = new AbortController();
  const follow = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) follow();
  else options.signal?.addEventListener('abort', follow, { once: true });
  const profile: StageProfile[] | undefined = options.profile ? [] : undefined;
  if (profile) (await import('../backend/profile.js')).enableKernelProfile();
  const outcome = await executeStages({
    ...(profile ? { profile } : {}),
    plan,
    record,
    cache: new CacheStore(layout),
    store,
    layout,
    executor: options.executor ?? new InProcessExecutor(),
    reporter,
    noCache: Boolean(options.noCache),
    jobs: Math.max(1, options.jobs ?? availableParallelism()),
    signal: stop.signal,
    ...(options.pruner ? { watchRung: rungWatcher(options.pruner, (why) => stop.abort(why)) } : {}),
    previous,
    tracker,
    ...(remote ? { remote } : {}),
    ...(remote && options.sharedLock ? { shared: options.sharedLock } : {}),
  });
  options.signal?.removeEventListener('abort', follow);
  record.status = outcome.status;
  if (outcome.error) record.error = outcome.error;
  const pruned =
    stop.signal.reason instanceof PrunedSignal && outcome.status === 'KILLED' ? stop.signal.reason : undefined;
  if (pruned) {
    record.status = 'PRUNED';
    record.pruned = { ...pruned.report, reason: pruned.reason, curve: [...pruned.curve] };
    record.error = { code: 'PF_PRUNED', message: pruned.message, stage: pruned.report.stage };
  }
  record.endedAt = new Date().toISOString();
  for (const s of Object.values(record.stages)) Object.assign(record.metrics, s.metrics ?? {});
  try {
    await store.write(record);
  } finally {
    if (tracker) {
      const tracked = await tracker.finish(record);
      reporter.note(tracked.message);
      // Earlier runs spooled while the server was away: send them too, briefly.
      if (tracked.synced) await syncEarlier(layout, record.runId, options.env ?? process.env, reporter);
    }
  }

  const names = (status: string) =>
    Object.entries(record.stages)
      .filter(([, s]) => s.status === status)
      .map(([n]) => n);
  const executed = names('executed');
  const cached = names('cached');
  reporter.runEnd({
    status: record.status,
    executed: executed.length,
    cached: cached.length,
    durationMs: Date.now() - started,
    runId: record.runId,
    metrics: record.metrics,
  });
  return {
    runId: record.runId,
    runHash: record.runHash,
    status: record.status,
    stages: record.stages,
    executed,
    cached,
    record,
    plan,
    ...(profile ? { profile } : {}),
  };
}

/** Refuses, before anything is written, a run whose arrays would not fit (pipeline/resources.ts). */
async function checkRunResources(
  plan: Plan,
  layout: Layout,
  env: NodeJS.ProcessEnv,
): Promise<ResourceEstimate | undefined> {
  if (!plan.pipeline.shapes) return undefined;
  // The completion marker alone (a stat): a cached no-op run must stay cheap.
  const executes = new Set(
    plan.stages.filter((s) => !existsSync(join(layout.entry(s.key.value), COMPLETE))).map((s) => s.spec.name),
  );
  if (executes.size === 0) return undefined;
  // Loaded only when a stage will execute: a cached no-op run stays as quick to start as it was.
  const { checkResources, diskFree, memoryLimit } = await import('../pipeline/resources.js');
  const limits = { memory: memoryLimit(env), disk: await diskFree(layout.cacheDir, env) };
  return checkResources(plan, executes, streamBytes(env), limits);
}

async function syncEarlier(
  layout: Layout,
  current: string,
  env: Readonly<Record<string, string | undefined>>,
  reporter: Reporter,
): Promise<void> {
  const { syncAll } = await import('../tracking/mlflow/sync.js');
  const results = await syncAll(layout, { env, deadline: Date.now() + 5000 }).catch(() => []);
  const sent = results.filter((r) => r.runId !== current && r.sent > 0);
  if (sent.length > 0)
    reporter.note(
      `also sent the MLflow logging of ${sent.length} earlier run(s) (${sent.map((r) => r.runId).join(', ')})`,
    );
}
