import { appendFile, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Layout } from '../project/layout.js';
import type { FolderCheckpoints } from '../cache/checkpoints.js';
import type { StageProfile } from '../backend/profile.js';
import type { CacheStore, Manifest } from '../cache/store.js';
import { CorruptEntryError } from '../cache/lineage.js';
import { recordFields, stageIo, staleLineage, type StageIo, type StageOutcome } from './stage-io.js';
import { ParamflowError } from '../util/errors.js';
import type { KeyDetails } from '../hash/stage-key.js';
import type { Plan, PlannedStage } from '../pipeline/plan.js';
import type { Artifact, StageContext, StageInputs } from '../stage/types.js';
import type { RunRecord, RunStatus } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';
import { crashPoint } from '../util/crash.js';
import type { Executor } from './executor.js';
import type { MlflowTracker } from '../tracking/mlflow/index.js';
import type { Reporter } from './reporter.js';
import { explainStage } from './status.js';
import { storageError } from '../util/storage-errors.js';
import type { RemoteCache } from '../cache/remote/remote.js';
import type { SharedKeyHold, SharedKeyLock } from './shared-lock.js';

export interface ExecuteContext {
  plan: Plan;
  record: RunRecord;
  cache: CacheStore;
  store: RunStore;
  layout: Layout;
  executor: Executor;
  reporter: Reporter;
  noCache: boolean;
  jobs: number;
  signal: AbortSignal;
  previous: Map<string, KeyDetails>;
  tracker?: MlflowTracker;
  /** `--profile`: each executed stage's time and kernel times are appended here. */
  profile?: StageProfile[];
  /** The cache other machines share (`cache.remote`), if any. */
  remote?: RemoteCache;
  /** Under a queue worker with a remote cache: the cache keys' locks across machines. */
  shared?: SharedKeyLock;
}

export interface ExecuteOutcome {
  status: RunStatus;
  error?: RunRecord['error'];
}

// What only executing a stage needs (locks, checkpoints, TensorFlow, the profiler, the
// remote cache) is imported when one executes: a cached no-op run loads none of it.
const forExecution = () =>
  Promise.all([
    import('../project/lock.js'),
    import('../cache/checkpoints.js'),
    import('../backend/profile.js'),
    import('./remote-hooks.js'),
  ]).then(([lock, checkpoints, profile, remote]) => ({ ...lock, ...checkpoints, ...profile, ...remote }));

// Runs the plan's stages in dependency order, `jobs` at a time, each under its cache
// key's lock: whoever holds the lock computes, everyone after finds the entry.
export async function executeStages(c: ExecuteContext): Promise<ExecuteOutcome> {
  const outputs = new Map<string, Promise<Record<string, Artifact>>>();
  const manifests = new Map<string, Manifest>();
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: ExecuteOutcome | undefined;
  let writes = Promise.resolve();
  // A cached stage's status waits for the next write — before a stage executes, when one
  // ends or fails, or the run's final one — rather than costing a write (fsync'd) of its own.
  // While another stage executes (--jobs > 1) it is written at once: that may take long.
  let unsaved = false;
  let executing = 0;
  const saveRecord = () => {
    unsaved = false;
    return (writes = writes.then(() => c.store.write(c.record)));
  };

  const planned = new Map(c.plan.stages.map((s) => [s.spec.name, s]));
  const io: StageIo = stageIo(manifests, (name) => loadOutputs(name));
  // An input is checked against its digests as it is read (CacheStore.load). A damaged
  // entry is never used: it is removed and its stage computed again, here, once for all
  // the stages that read it (they share this promise).
  const loadOutputs = (name: string): Promise<Record<string, Artifact>> => {
    let p = outputs.get(name);
    if (!p) {
      p = c.cache.load(manifests.get(name)!).catch((err: unknown) => {
        if (!(err instanceof CorruptEntryError)) throw err;
        return recompute(name, err);
      });
      outputs.set(name, p);
    }
    return p;
  };
  const recompute = async (name: string, damage: CorruptEntryError): Promise<Record<string, Artifact>> => {
    c.reporter.stageLog(
      name,
      `warning: ${damage.message}; not using it: removing the entry and computing ${name} again`,
    );
    await appendLog(c, name, `warning: ${damage.message}; entry removed, stage recomputed`);
    await c.cache.remove(damage.key);
    let result: StageOutcome;
    try {
      result = await processStage(planned.get(name)!, { ...c, noCache: false }, io, () => writes);
    } catch (err) {
      throw new ParamflowError(
        'PF_CACHE_CORRUPT',
        `${damage.message}, and computing ${name} again failed: ${(err as Error)?.message ?? String(err)}`,
        {
          hint: `the damaged entry was removed; fix what made ${name} fail and run again`,
          cause: err,
        },
      );
    }
    manifests.set(name, result.manifest);
    Object.assign(c.record.stages[name]!, recordFields(result, `cache entry damaged (${damage.file}); recomputed`));
    return result.outputs ?? c.cache.load(result.manifest);
  };

  const runOne = async (s: PlannedStage): Promise<void> => {
    const name = s.spec.name;
    const rec = c.record.stages[name]!;
    let executes = false;
    const beforeExecute = () => {
      executes = true;
      executing++;
      return unsaved ? saveRecord() : writes;
    };
    try {
      const result = await processStage(s, c, io, beforeExecute);
      manifests.set(name, result.manifest);
      if (result.outputs) outputs.set(name, Promise.resolve(result.outputs));
      Object.assign(rec, recordFields(result, result.reason));
      done.add(name);
      const reports = reportFiles(c, result.manifest);
      await c.store.keepArtifacts(c.record.runId, name, reports);
      // MLflow previews the PNGs; the SVGs (megabytes for a 5000-point scatter) stay in the run store.
      const tracked = reports.filter((r) => !r.path.endsWith('.svg'));
      c.tracker?.stage(
        c.record,
        name,
        tracked.map((r) => ({ path: `${name}/${r.path}`, file: r.file })),
      );
      if (result.cached && executing === 0) {
        unsaved = true;
        return;
      }
    } catch (err) {
      const aborted = c.signal.aborted;
      const e = toStageError(err, name, aborted);
      Object.assign(rec, { status: 'failed', error: { code: e.code, message: e.message } });
      failure ??= {
        status: aborted ? 'KILLED' : 'FAILED',
        error: { code: e.code, message: e.message, stage: name, ...(e.hint ? { hint: e.hint } : {}) },
      };
      await appendLog(c, name, `${e.message}\n${(err as Error)?.stack ?? ''}`);
      c.reporter.stageEnd(name, 'failed', 0, e.message);
    } finally {
      if (executes) executing--;
    }
    await saveRecord();
  };

  const pending = [...c.plan.stages];
  while (pending.length > 0 || running.size > 0) {
    if (!failure && !c.signal.aborted) {
      for (const s of [...pending]) {
        if (running.size >= c.jobs) break;
        if (!s.spec.needs.every((n) => done.has(n))) continue;
        pending.splice(pending.indexOf(s), 1);
        const p = runOne(s).finally(() => running.delete(s.spec.name));
        running.set(s.spec.name, p);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  // Not `unsaved` ones: the caller writes the finished record (run-pipeline.ts).
  await writes;
  if (c.signal.aborted && !failure)
    failure = { status: 'KILLED', error: { code: 'PF_INTERRUPTED', message: 'interrupted' } };
  for (const s of pending) c.record.stages[s.spec.name]!.status = 'skipped';
  return failure ?? { status: 'FINISHED' };
}

async function processStage(
  s: PlannedStage,
  c: ExecuteContext,
  io: StageIo,
  beforeExecute: () => Promise<void>,
): Promise<StageOutcome> {
  const name = s.spec.name;
  const key = s.key.value;
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  // Cheapest check first: a finished entry needs no lock (entries are immutable).
  if (!c.noCache) {
    const quick = await c.cache.lookup(key);
    if (quick.hit && !staleLineage(quick.manifest, io)) return cachedOutcome(c, name, quick.manifest, startedAt);
  }
  const {
    acquireLock,
    FolderCheckpoints,
    pullBeforeRun,
    pushAfterCommit,
    releaseSharedLock,
    takeSharedLock,
    stageProfile,
    takeKernelProfile,
  } = await forExecution();
  const lock = await acquireLock(c.layout.lock(key), {
    signal: c.signal,
    purpose: `${c.record.runId} ${name}`,
    onWait: (owner) => c.reporter.stageWait(name, owner ? `pid ${owner.pid} on ${owner.host}` : 'another process'),
  });
  let shared: SharedKeyHold | undefined;
  try {
    let lookup = await c.cache.lookup(key);
    const stale = lookup.hit ? staleLineage(lookup.manifest, io) : undefined;
    if (lookup.hit && !stale && !c.noCache) return cachedOutcome(c, name, lookup.manifest, startedAt);
    if (stale && !c.noCache) {
      // Built from input bytes other than those its inputs' entries now hold (one was replaced).
      c.reporter.stageLog(
        name,
        `warning: cache entry ${key.slice(0, 12)} is stale (${stale}); removing it and recomputing`,
      );
      await c.cache.remove(key);
      lookup = { hit: false, reason: 'absent' };
    }
    if (!lookup.hit && lookup.reason !== 'absent') {
      c.reporter.stageLog(
        name,
        `warning: cache entry ${key.slice(0, 12)} is ${lookup.reason}${lookup.detail ? ` (${lookup.detail})` : ''}; removing it and recomputing`,
      );
      await c.cache.remove(key);
    }
    // Another machine may be computing it: wait for it, then pull what it pushed.
    if (c.shared && c.remote && !c.noCache)
      shared = await takeSharedLock(c.shared, c.reporter, name, key, {
        signal: c.signal,
        purpose: `${c.record.runId} ${name}`,
      });
    const pulled = c.remote && !c.noCache ? await pullBeforeRun(c.remote, c.cache, c.reporter, name, key) : undefined;
    if (pulled) return cachedOutcome(c, name, pulled, startedAt, 'cached (pulled from the remote cache)');
    const reason = c.noCache ? '--no-cache' : explainStage(s, lookup, c.previous.get(name)).reasons.join('; ');
    await beforeExecute();
    // A read-only or foreign cache fails here, not after the stage trained for an hour.
    await c.cache.assertWritable(name);
    c.reporter.stageStart(name, reason);
    const inputs: Record<string, Artifact> = {};
    for (const [input, from] of Object.entries(s.spec.inputs)) {
      // `noise.Y` (a command's {inputs.noise.Y}) reads output Y of noise.
      const output = input.startsWith(`${from}.`) ? input.slice(from.length + 1) : input;
      const artifact = (await io.load(from))[output];
      if (artifact) inputs[input] = artifact;
    }
    crashPoint('stage-start', name);
    if (c.profile) takeKernelProfile(); // kernels of earlier stages are theirs, not this one's
    const checkpoint = new FolderCheckpoints(c.layout, key);
    const scratches: string[] = [];
    const result = await c.executor.execute({
      def: s.def,
      inputs: inputs as StageInputs,
      params: s.runParams,
      ctx: stageContext(s, c, checkpoint, scratches),
    });
    checkOutputs(s, result.outputs);
    c.signal.throwIfAborted();
    const durationMs = Date.now() - t0;
    // With --jobs > 1 stages running at once share the kernel counts (the CLI says so).
    if (c.profile) c.profile.push(stageProfile(name, durationMs, takeKernelProfile()));
    // --no-cache over an existing entry: the record is this execution's, and the entry is
    // replaced when the new bytes differ (kept when identical); see CacheStore.commit.
    const existed = c.noCache && lookup.hit;
    const manifest = await c.cache.commit(
      {
        key,
        stage: name,
        details: s.key.details,
        outputs: result.outputs,
        metrics: result.metrics ?? {},
        ...(result.series ? { series: result.series } : {}),
        ...(result.folds ? { folds: result.folds } : {}),
        durationMs,
        lineage: io.lineage(s),
      },
      { replace: c.noCache },
    );
    await checkpoint.clear();
    // Kept when the stage fails (the program's inputs and partial outputs help to debug it).
    for (const d of scratches) await rm(d, { recursive: true, force: true });
    if (scratches.length > 0) await rmdir(dirname(scratches[0]!)).catch(() => undefined);
    if (c.remote && !existed) await pushAfterCommit(c.remote, c.cache, c.reporter, name, key);
    c.reporter.stageEnd(name, 'executed', durationMs);
    return { cached: false, manifest, outputs: result.outputs, reason, startedAt, durationMs };
  } finally {
    await releaseSharedLock(shared, c.reporter, name);
    await lock.release();
  }
}

/** A stage's files worth reading after the run: JSON outputs and folders (plots, model); not the big arrays. */
function reportFiles(c: ExecuteContext, m: Manifest): { path: string; file: string }[] {
  return Object.keys(m.files)
    .filter((f) => !f.endsWith('.npy'))
    .map((f) => ({ path: f, file: join(c.layout.entry(m.key), f) }));
}

function cachedOutcome(
  c: ExecuteContext,
  name: string,
  manifest: Manifest,
  startedAt: string,
  reason = 'cached',
): StageOutcome {
  c.reporter.stageEnd(name, 'cached', 0);
  return { cached: true, manifest, reason, startedAt, durationMs: 0 };
}

function stageContext(
  s: PlannedStage,
  c: ExecuteContext,
  checkpoint: FolderCheckpoints,
  scratches: string[],
): StageContext {
  const name = s.spec.name;
  const backend = c.plan.backend;
  return {
    checkpoint,
    dir: c.plan.pipeline.dir,
    scratch: async () => {
      const parent = join(c.layout.run(c.record.runId), 'work');
      await mkdir(parent, { recursive: true });
      const dir = await mkdtemp(join(parent, `${name}-`));
      scratches.push(dir);
      return dir;
    },
    tf: () => {
      if (!backend) throw new Error(`stage ${s.def.name} uses TensorFlow but does not declare usesBackend`);
      return import('../backend/load.js').then((m) => m.loadTensorflow(backend.name));
    },
    stage: name,
    seed: s.spec.seed,
    root: c.plan.pipeline.root,
    signal: c.signal,
    progress: (done: number, total: number, unit?: string) => {
      crashPoint('stage-progress', name);
      c.reporter.stageProgress(name, done, total, unit);
    },
    log: (message: string) => {
      c.reporter.stageLog(name, message);
      void appendLog(c, name, message);
    },
  };
}

function checkOutputs(s: PlannedStage, outputs: Record<string, Artifact>): void {
  for (const o of s.def.outputs) {
    const a = outputs[o.name];
    if (!a || a.kind !== o.kind) {
      throw new ParamflowError(
        'PF_STAGE_FAILED',
        `stage ${s.spec.name} (${s.def.name}) did not return its declared output \`${o.name}\` (${o.kind})`,
        {
          hint: 'a stage must return every output it declares',
        },
      );
    }
  }
}

function toStageError(err: unknown, stage: string, aborted: boolean): ParamflowError {
  if (aborted) return new ParamflowError('PF_INTERRUPTED', `stage ${stage} interrupted`, { cause: err });
  if (err instanceof ParamflowError) return err;
  const storage = storageError(err, `stage ${stage} wrote its results`);
  if (storage) return storage;
  return new ParamflowError('PF_STAGE_FAILED', `stage ${stage} failed: ${(err as Error)?.message ?? String(err)}`, {
    hint: `see the stage log in .paramflow/runs/<run-id>/logs/${stage}.log`,
    cause: err,
  });
}

async function appendLog(c: ExecuteContext, stage: string, text: string): Promise<void> {
  const dir = join(c.layout.run(c.record.runId), 'logs');
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  await appendFile(join(dir, `${stage}.log`), `${new Date().toISOString()} ${text}\n`).catch(() => undefined);
}
