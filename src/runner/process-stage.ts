import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Lookup, Manifest } from '../cache/store.js';
import type { PlannedStage } from '../pipeline/plan.js';
import type { Artifact, StageInputs } from '../stage-contract/types.js';
import { byteSize } from '../stage-contract/ndarray.js';
import { wholeArray } from '../stage-contract/rows.js';
import { crashPoint } from '../util/crash.js';
import { ArrayStaging, streamBytes } from './array-staging.js';
import { ParamflowError } from '../util/errors.js';
import type { ExecuteContext } from './execute-context.js';
import type { SharedKeyHold } from './shared-lock.js';
import { stageContext } from './stage-context.js';
import { staleLineage, type StageIo, type StageOutcome } from './stage-io.js';
import { explainStage } from './status.js';

// What only executing a stage needs (locks, checkpoints, TensorFlow, the profiler, the
// remote cache) is imported when one executes: a cached no-op run loads none of it.
const forExecution = () =>
  Promise.all([
    import('../project/lock.js'),
    import('../cache/checkpoints.js'),
    import('../backend/profile.js'),
    import('./remote-hooks.js'),
  ]).then(([lock, checkpoints, profile, remote]) => ({ ...lock, ...checkpoints, ...profile, ...remote }));

/**
 * One stage, start to end: its cache entry when a usable one exists (here, or pulled from the
 * remote), else under its key's lock: inputs loaded, `run` executed, outputs checked and
 * committed, the checkpoint and scratch folders cleared, the entry pushed.
 */
export async function processStage(
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
  let staged: ArrayStaging | undefined;
  try {
    const lookup = await usableEntry(s, c, io);
    if (lookup.hit && !c.noCache) return cachedOutcome(c, name, lookup.manifest, startedAt);
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
    const threshold = streamBytes();
    for (const [input, from] of Object.entries(s.spec.inputs)) {
      // `noise.Y` (a command's {inputs.noise.Y}) reads output Y of noise.
      const output = input.startsWith(`${from}.`) ? input.slice(from.length + 1) : input;
      const artifact = (await io.load(from))[output];
      if (artifact) inputs[input] = asInput(artifact, s.def.streams === true, threshold);
    }
    crashPoint('stage-start', name);
    if (c.profile) takeKernelProfile(); // kernels of earlier stages are theirs, not this one's
    const checkpoint = new FolderCheckpoints(c.layout, key);
    const scratches: string[] = [];
    const staging = (staged = new ArrayStaging(c.layout.tmpDir, key, threshold, { written: 0, stage: name }));
    const result = await c.executor.execute({
      def: s.def,
      inputs: inputs as StageInputs,
      params: s.runParams,
      ctx: { ...stageContext(s, c, checkpoint, scratches), createArray: (n, d, shape) => staging.create(n, d, shape) },
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
    const outputs = await c.cache.reopen(manifest, result.outputs);
    // Kept when the stage fails (the program's inputs and partial outputs help to debug it).
    for (const d of scratches) await rm(d, { recursive: true, force: true });
    if (scratches.length > 0) await rmdir(dirname(scratches[0]!)).catch(() => undefined);
    if (c.remote && !existed) await pushAfterCommit(c.remote, c.cache, c.reporter, name, key);
    c.reporter.stageEnd(name, 'executed', durationMs);
    return { cached: false, manifest, outputs, reason, startedAt, durationMs };
  } finally {
    await staged?.clear();
    await releaseSharedLock(shared, c.reporter, name);
    await lock.release();
  }
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

/**
 * An input as the stage takes it: an array left in its file stays there for a stage that
 * streams when it is at least `threshold` bytes; otherwise it is read into memory.
 */
function asInput(a: Artifact, streams: boolean, threshold: number): Artifact {
  if (a.kind !== 'array-file') return a;
  return streams && byteSize(a) >= threshold ? a : wholeArray(a);
}

function checkOutputs(s: PlannedStage, outputs: Record<string, Artifact>): void {
  for (const o of s.def.outputs) {
    const a = outputs[o.name];
    const kind = a?.kind === 'array-file' ? 'ndarray' : a?.kind;
    if (!a || kind !== o.kind) {
      throw new ParamflowError(
        'PF_STAGE_FAILED',
        `stage ${s.spec.name} (${s.def.name}) did not return its declared output \`${o.name}\` (${o.kind})`,
        {
          hint: 'a stage must return every output it declares',
        },
      );
    }
    if (a.kind === 'array-file' && (typeof a.readRows !== 'function' || !Array.isArray(a.shape)))
      throw new ParamflowError(
        'PF_STAGE_FAILED',
        `stage ${s.spec.name} (${s.def.name}) returned output \`${o.name}\` as an array file that cannot be read by rows`,
        { hint: 'return an ndarray, the array of a sink (arraySink, ctx.createArray), or an input as it came' },
      );
  }
}

/**
 * The stage's entry, under its lock: kept when intact and built from its inputs' current bytes
 * (and returned as a hit, unless --no-cache); removed, with a warning, when stale (an input's
 * entry was replaced since), incomplete or corrupt.
 */
async function usableEntry(s: PlannedStage, c: ExecuteContext, io: StageIo): Promise<Lookup> {
  const [name, key] = [s.spec.name, s.key.value];
  const lookup = await c.cache.lookup(key);
  const stale = lookup.hit ? staleLineage(lookup.manifest, io) : undefined;
  if (lookup.hit && !stale) return lookup;
  if (stale && !c.noCache) {
    c.reporter.stageLog(
      name,
      `warning: cache entry ${key.slice(0, 12)} is stale (${stale}); removing it and recomputing`,
    );
    await c.cache.remove(key);
    return { hit: false, reason: 'absent' };
  }
  if (!lookup.hit && lookup.reason !== 'absent') {
    const detail = lookup.detail ? ` (${lookup.detail})` : '';
    c.reporter.stageLog(
      name,
      `warning: cache entry ${key.slice(0, 12)} is ${lookup.reason}${detail}; removing it and recomputing`,
    );
    await c.cache.remove(key);
  }
  return lookup;
}
