import { Worker, type Job } from 'bullmq';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Layout } from '../../project/layout.js';
import { findProjectRoot } from '../../project/root.js';
import { RunStore } from '../../tracking/run-store.js';
import { plainReporter } from '../../runner/plain-reporter.js';
import type { Reporter } from '../../runner/reporter.js';
import { runTrial } from '../worker.js';
import { RedisKeyLock } from './redis-lock.js';
import { verdictAsker } from './verdicts.js';
import {
  connection,
  type QueueJobData,
  type QueueJobProgress,
  type QueueJobResult,
  type QueueSettings,
} from './settings.js';
import { redactSecrets } from '../../util/redact.js';

export interface WorkerOptions {
  settings: QueueSettings;
  concurrency: number;
  log: (line: string) => void;
}

/**
 * `paramflow worker`: takes jobs (sweep trials, plain runs) from the queue and runs each,
 * in this process, as `paramflow run` would in this project folder (its own cache; the
 * remote cache, if set, shares stages with other machines). SIGTERM/SIGINT: stop taking jobs, stop the running
 * trials (recorded KILLED) and close; a job cut short this way fails and is retried elsewhere.
 * Runs share stages through the remote cache, one machine computing each under a lock in
 * the queue's Redis (redis-lock.ts) while the others wait and pull it.
 * Lock timings (a job's, a cache key's lease) come from PARAMFLOW_QUEUE_LOCK_MS (tests
 * shorten them; default BullMQ's 30 s).
 */
export async function serveQueue(o: WorkerOptions): Promise<number> {
  const root = findProjectRoot(process.cwd());
  const me = `${hostname()}:${process.pid}`;
  const controllers = new Set<AbortController>();
  const lockMs = Number(process.env.PARAMFLOW_QUEUE_LOCK_MS) || undefined;
  const keyLock = new RedisKeyLock(o.settings, { holder: me, ...(lockMs ? { leaseMs: lockMs } : {}) });
  const processor = async (job: Job<QueueJobData, QueueJobResult>): Promise<QueueJobResult> => {
    const file = resolve(root, job.data.file);
    const controller = new AbortController();
    controllers.add(controller);
    o.log(`worker ${me}: job ${job.id} (${job.name}) started`);
    // The submitter shows who took the job and, for a plain run, the run's lines as they come.
    let sent = job.updateProgress({ worker: me } satisfies QueueJobProgress).catch(() => undefined);
    const forward = (line: string) =>
      (sent = sent
        .then(() => job.updateProgress({ worker: me, line } satisfies QueueJobProgress))
        .catch(() => undefined));
    const reporter = job.data.task.tag ? undefined : forwardingReporter(forward);
    const rule = job.data.task.prune;
    const verdicts = rule
      ? verdictAsker(o.settings, String(job.id), (id, report) =>
          job.updateProgress({ worker: me, rung: { id, report } } satisfies QueueJobProgress),
        )
      : undefined;
    try {
      const outcome = await runTrial({ ...job.data.task, file, cwd: root }, controller.signal, {
        sharedLock: keyLock,
        ...(reporter ? { reporter } : {}),
        ...(rule && verdicts ? { pruner: { rule, ask: verdicts.ask } } : {}),
      });
      await sent;
      const record = outcome.runId
        ? await new RunStore(new Layout(findProjectRoot(dirname(file)))).read(outcome.runId).catch(() => undefined)
        : undefined;
      o.log(`worker ${me}: job ${job.id} ${outcome.ok ? 'finished' : `failed: ${outcome.message}`}`);
      if (controller.signal.aborted) throw new Error(`worker ${me} stopped mid-trial`);
      return { outcome, ...(record ? { record } : {}), worker: me };
    } finally {
      verdicts?.close();
      controllers.delete(controller);
    }
  };
  const worker = new Worker<QueueJobData, QueueJobResult>(o.settings.queue, processor, {
    connection: connection(o.settings),
    concurrency: o.concurrency,
    name: me,
    // A job whose worker died is handed on twice before it counts as failed.
    maxStalledCount: 2,
    ...(lockMs ? { lockDuration: lockMs, stalledInterval: Math.max(500, Math.floor(lockMs / 2)) } : {}),
  });
  worker.on('error', (err) => o.log(`worker ${me}: ${err.message}`));
  await worker.waitUntilReady();
  if (!process.env.PARAMFLOW_CACHE_REMOTE?.trim()) {
    // The pipeline's `cache.remote:` may still name one (then stages are shared); the worker cannot know before a job comes.
    o.log(
      `worker ${me}: warning: no remote cache (PARAMFLOW_CACHE_REMOTE is not set): unless the pipeline sets cache.remote, stages are not shared with other workers and each computes its own`,
    );
  }
  // Handlers first: whoever reads the "serving" line may stop the worker at once.
  const stopped = new Promise<void>((done) => {
    const stop = () => {
      for (const c of controllers) c.abort(new Error('worker stopped'));
      void worker
        .close()
        .then(() => keyLock.close())
        .then(done, done);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  o.log(
    `worker ${me}: serving queue ${o.settings.queue} at ${redactSecrets(o.settings.redis)} from ${root} (concurrency ${o.concurrency})`,
  );
  await stopped;
  return 0;
}

/** The worker's own plain lines, each also sent to the submitter, but the last: the submitter prints its own summary from the record. */
function forwardingReporter(forward: (line: string) => void): Reporter {
  const both = plainReporter((line) => {
    process.stderr.write(line + '\n');
    forward(line);
  });
  return { ...both, runEnd: plainReporter().runEnd };
}
