import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { Layout } from '../project/layout.js';
import { ParamflowError } from '../util/errors.js';
import type { RunnablePipeline } from '../pipeline/load.js';
import type { Override } from '../config/spec.js';
import { newRunId } from '../tracking/run-id.js';
import { RunStore } from '../tracking/run-store.js';
import { HOST } from '../util/process-alive.js';
import { replicateSeed, type Trial } from './expand.js';
import { ProcessTrialExecutor } from './executors/process.js';
import type { TrialExecutor } from './trial-executor.js';
import { bestTrial, type ReplicateRecord, type SweepRecord, type TrialRecord } from '../tracking/sweep-record.js';
import { canonicalJson } from '../hash/canonical-json.js';
import { sha256 } from '../hash/sha256.js';
import { listProposer, tpeProposer } from './proposer.js';
import { Pruner, rungRule } from './prune/pruner.js';
import { driveTrials, earlierPruned, type RunReplicate } from './trial-loop.js';
import type { SweepSpec } from '../config/sweep-spec.js';
import { prepareSweep, sweepBlockLocation, trialOverrides } from './prepare.js';
import { SweepStore } from './store.js';
import { formatProgress, formatValues } from './progress.js';
import { trialNamer } from '../tracking/mlflow/sweep-mapping.js';

export { prepareSweep, sweepOf } from './prepare.js';

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
    // Not the budget: a larger one continues the same search (its pruning decisions included).
    key: sha256(canonicalJson({ resolved: base.resolved, spec: { ...spec, budget: null } })).slice(0, 16),
    trials: (proposer.planned ?? []).slice(0, spec.budget?.trials ?? Infinity).map(newTrial),
  };
  const log = o.log ?? (() => undefined);
  // Refused before anything is written: pruning needs an executor that can hear from a trial.
  const executor: TrialExecutor = o.executor ?? o.makeExecutor?.(base, layout) ?? new ProcessTrialExecutor(base.root);
  if (spec.prune && executor.prunes === false) {
    await executor.close?.();
    throw new ParamflowError(
      'PF_SCHEMA',
      `sweep.prune needs to hear from each trial while it trains; ${executor.name ?? 'this executor'} cannot`,
      {
        location: sweepBlockLocation(base.file, o.file, 'prune'),
        hint: 'run the sweep with --executor process (the default) or queue, or remove sweep.prune',
      },
    );
  }
  let writes = store.write(record);
  const save = () => (writes = writes.then(() => store.write(record)));
  const planned = proposer.planned ? `${record.trials.length} trials` : `tpe, ${describeBudget(spec)}`;
  log(
    `sweep ${record.sweepId} · ${base.name} · ${planned} × ${spec.replicates} replicate(s) · objective ${spec.objective.metric} (${spec.objective.goal})${spec.prune ? ` · pruning: ${spec.prune.method}` : ''}`,
  );
  const slots = Math.max(
    1,
    Math.min(
      o.jobs ?? availableParallelism(),
      spec.budget?.trials ?? Infinity,
      proposer.planned ? record.trials.length * spec.replicates : Infinity,
    ),
  );
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
  const trialName = trialNamer(record.trials, spec.replicates, spec);
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
  return [b.trials ? `at most ${b.trials} trials` : '', b.minutes ? `${b.minutes} minutes` : '']
    .filter(Boolean)
    .join(', ');
}

function trialSeed(t: Trial, base: RunnablePipeline): number {
  return typeof t.values.seed === 'number' ? t.values.seed : base.seed;
}
