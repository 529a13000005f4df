import { getEachMessage, sendMessage, type Message } from 'execa';
import { ParamflowError, formatError } from '../util/errors.js';
import { runPipeline, type RunOptions } from '../runner/run-pipeline.js';
import { locateOverrides } from '../config/locate-overrides.js';
import { plainReporter } from '../runner/plain-reporter.js';
import type { Reporter } from '../runner/reporter.js';
import { crashPoint, setCrashTrial } from '../util/crash.js';
import type { FromWorker, ToWorker } from './executors/process.js';
import type { TrialOutcome, TrialTask } from './trial-executor.js';
import type { RungReport, Verdict } from '../runner/pruning.js';

/**
 * `paramflow sweep-worker`: runs the trials its sweep sends over IPC, one at a time, each
 * as `paramflow run` would, until told to stop. SIGTERM or SIGINT stops the current trial
 * (its run is recorded KILLED) and then the worker.
 */
export async function serveTrials(): Promise<number> {
  crashPoint('worker-start');
  let current: AbortController | undefined;
  let stopping = false;
  const stop = () => {
    stopping = true;
    current?.abort(new Error('sweep stopped'));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The sweep died (SIGKILL: it could not stop us): its channel closes. The trial stops as on
  // SIGTERM rather than finishing side effects for a sweep recorded KILLED.
  // A 'disconnect' listener keeps the channel (and so the worker) alive: removed when done.
  process.on('disconnect', stop);
  try {
    for await (const raw of getEachMessage()) {
      const msg = raw as ToWorker;
      if (msg.type === 'verdict') continue; // answered to askSweep's own listener
      if (msg.type === 'stop' || stopping) break;
      current = new AbortController();
      const prune = msg.task.prune;
      const outcome = await runTrial(msg.task, current.signal, {
        reporter: progressReporter(),
        ...(prune ? { pruner: { rule: prune, ask: askSweep } } : {}),
      });
      current = undefined;
      await sendMessage({ type: 'outcome', outcome } satisfies FromWorker as unknown as Message<'json'>);
      if (stopping) break;
    }
  } finally {
    process.off('disconnect', stop);
  }
  return 0;
}

let asked = 0;

/** A rung report sent to the sweep over IPC; resolves with its verdict. */
function askSweep(report: RungReport): Promise<Verdict> {
  const id = ++asked;
  return new Promise<Verdict>((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const msg = raw as ToWorker;
      if (msg?.type !== 'verdict' || msg.id !== id) return;
      process.off('message', onMessage);
      resolve(msg.verdict);
    };
    process.on('message', onMessage);
    sendMessage({ type: 'rung', id, report } satisfies FromWorker as unknown as Message<'json'>).catch(
      (err: unknown) => {
        process.off('message', onMessage);
        reject(err as Error);
      },
    );
  });
}

/** `sharedLock`: a queue worker's cache-key locks across machines (see src/runner/shared-lock.ts); `reporter`: plain lines on stderr unless given. */
export async function runTrial(
  task: TrialTask,
  signal: AbortSignal,
  extra: Pick<RunOptions, 'sharedLock' | 'reporter' | 'pruner'> = {},
): Promise<TrialOutcome> {
  setCrashTrial(task.tag?.trial);
  try {
    const summary = await runPipeline({
      file: task.file,
      overrides: locateOverrides(task.sets),
      noCache: task.noCache,
      ...(task.backend ? { backend: task.backend } : {}),
      ...(task.tag ? { trial: task.tag } : {}),
      env: { ...process.env, ...task.env },
      reporter: plainReporter(),
      signal,
      ...extra,
    });
    // A pruned run did what its sweep asked: the sweep reads why from its record.
    if ((summary.status === 'FINISHED' || summary.status === 'PRUNED') && summary.runId)
      return { ok: true, runId: summary.runId };
    const err = summary.record?.error;
    const message = err
      ? `${err.code}${err.stage ? ` in ${err.stage}` : ''}: ${err.message}`
      : `run ${summary.status.toLowerCase()}`;
    return { ok: false, badInput: false, message, ...(summary.runId ? { runId: summary.runId } : {}) };
  } catch (e) {
    if (e instanceof ParamflowError) return { ok: false, badInput: e.exitCode === 2, message: formatError(e) };
    return { ok: false, badInput: false, message: `internal error: ${(e as Error)?.stack ?? String(e)}` };
  } finally {
    setCrashTrial(undefined);
  }
}

/** How often a training fold's epochs are told to the sweep at most. */
const EPOCH_LINE_MS = 5_000;

/**
 * Plain lines on stderr (kept for a failed trial's message), and the trial's progress told to
 * the sweep over IPC: stages starting and ending, and a training fold's epoch every few seconds.
 */
function progressReporter(): Reporter {
  const plain = plainReporter();
  const tell = (line: string) =>
    void sendMessage({ type: 'progress', line } satisfies FromWorker as unknown as Message<'json'>).catch(
      () => undefined,
    );
  let told = 0;
  return {
    ...plain,
    stageStart: (stage, reason) => {
      plain.stageStart(stage, reason);
      tell(`${stage} running`);
    },
    stageFold: (stage, e) => {
      if (e.phase !== 'epoch' || Date.now() - told < EPOCH_LINE_MS) return;
      told = Date.now();
      const loss = e.metrics?.val_loss;
      tell(
        `${stage} fold ${e.fold} epoch ${e.epoch}/${e.epochs}${loss === undefined ? '' : ` val_loss ${loss.toPrecision(4)}`}`,
      );
    },
    stageEnd: (stage, outcome, ms, detail) => {
      plain.stageEnd(stage, outcome, ms, detail);
      if (outcome === 'executed') tell(`${stage} done`);
    },
  };
}
