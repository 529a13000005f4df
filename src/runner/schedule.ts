import { join } from 'node:path';
import { CorruptEntryError } from '../cache/lineage.js';
import type { Manifest } from '../cache/store.js';
import type { PlannedStage } from '../pipeline/plan.js';
import type { Artifact } from '../stage-contract/types.js';
import type { RunRecord, RunStatus } from '../tracking/run-record.js';
import { ParamflowError } from '../util/errors.js';
import { storageError } from '../util/storage-errors.js';
import type { ExecuteContext } from './execute-context.js';
import { trackedOutputs } from './tracked-outputs.js';
import { processStage } from './process-stage.js';
import { streamBytes } from './array-staging.js';
import { isNpyFile } from '../format/npy-file.js';
import { appendLog } from './stage-context.js';
import { recordFields, stageIo, type StageIo, type StageOutcome } from './stage-io.js';

export type { ExecuteContext } from './execute-context.js';

export interface ExecuteOutcome {
  status: RunStatus;
  error?: RunRecord['error'];
}

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
      p = c.cache.load(manifests.get(name)!, { streamBytes: streamBytes() }).catch((err: unknown) => {
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
    return result.outputs ?? c.cache.load(result.manifest, { streamBytes: streamBytes() });
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
      // Arrays up to 8 MB go too (out-of-fold predictions, targets, folds); larger ones (a real study's
      // curves) stay in the cache.
      const tracked = [...reports.filter((r) => !r.path.endsWith('.svg')), ...smallArrays(c, result.manifest)];
      c.tracker?.stage(
        c.record,
        name,
        tracked.map((r) => ({ path: `${name}/${r.path}`, file: r.file })),
        // Tracking never fails a run: without its model or dataset, the stage is still logged.
        await trackedOutputs(c, s, result.manifest, io).catch((err: Error) => {
          c.reporter.note(`tracking: ${name}'s model or dataset left out (${err.message})`);
          return undefined;
        }),
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
  await closeArrayFiles(outputs.values());
  return failure ?? { status: 'FINISHED' };
}

/**
 * Closes the files of the arrays read by rows: a sweep worker runs many trials in one
 * process, and each run's open descriptors would otherwise add up to the process's limit.
 */
async function closeArrayFiles(loaded: Iterable<Promise<Record<string, Artifact>>>): Promise<void> {
  for (const p of loaded) {
    const artifacts = await p.catch(() => ({}) as Record<string, Artifact>);
    for (const a of Object.values(artifacts)) if (isNpyFile(a)) a.close();
  }
}

/** A stage's files worth reading after the run: JSON outputs and folders (plots, model); not the big arrays. */
/** An array this size or smaller is uploaded to the tracking server with its stage. */
const TRACKED_ARRAY_BYTES = 8 * 1024 * 1024;

function smallArrays(c: ExecuteContext, m: Manifest): { path: string; file: string }[] {
  return Object.entries(m.files)
    .filter(([f, w]) => f.endsWith('.npy') && w.size <= TRACKED_ARRAY_BYTES)
    .map(([f]) => ({ path: f, file: join(c.layout.entry(m.key), f) }));
}

function reportFiles(c: ExecuteContext, m: Manifest): { path: string; file: string }[] {
  return Object.keys(m.files)
    .filter((f) => !f.endsWith('.npy'))
    .map((f) => ({ path: f, file: join(c.layout.entry(m.key), f) }));
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
