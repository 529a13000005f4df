import { Queue, QueueEvents } from 'bullmq';
import { relative } from 'node:path';
import type { Layout } from '../../cache/layout.js';
import { RunStore } from '../../tracking/run-store.js';
import type { TrialExecutor, TrialOutcome, TrialTask } from '../process-executor.js';
import { connection, type QueueJobData, type QueueJobResult, type QueueSettings } from './settings.js';

export interface QueueOptions {
  settings: QueueSettings;
  layout: Layout;
  log: (line: string) => void;
}

/**
 * Runs a sweep's trials as BullMQ jobs, taken by `paramflow worker` processes on any
 * machine that reaches the Redis server and has a checkout of the project (stages are
 * shared through the remote cache). A job's return value carries the worker's run record,
 * written here into this project's run store, so `runs --sweep`, compare and report see
 * the trial as if it had run here. A worker that dies mid-job leaves a stalled job, which
 * BullMQ hands to another worker; `attempts: 2` covers a job whose worker threw.
 */
export class QueueTrialExecutor implements TrialExecutor {
  readonly elsewhere = true;
  private readonly queue: Queue<QueueJobData, QueueJobResult>;
  private readonly events: QueueEvents;
  private readonly runs: RunStore;
  private readonly ready: Promise<unknown>;

  constructor(private readonly o: QueueOptions) {
    const conn = connection(o.settings);
    this.queue = new Queue(o.settings.queue, { connection: conn });
    this.events = new QueueEvents(o.settings.queue, { connection: conn });
    // Listen before the first job is added, or a quick job's completion could be missed.
    this.ready = this.events.waitUntilReady();
    this.runs = new RunStore(o.layout);
  }

  async run(task: TrialTask, signal: AbortSignal): Promise<TrialOutcome> {
    await this.ready;
    const { file, cwd: _cwd, ...rest } = task;
    const data: QueueJobData = { task: rest, file: relative(this.o.layout.root, file) };
    const name = `${task.tag.sweep}/${task.tag.trial}/${task.tag.replicate}`;
    const job = await this.queue.add(name, data, { attempts: 2, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
    this.o.log(`queue ${this.o.settings.queue}: job ${job.id} = trial ${task.tag.trial} replicate ${task.tag.replicate}`);
    let stop: (() => void) | undefined;
    const aborted = new Promise<TrialOutcome>((resolve) => {
      stop = () => {
        void job.remove().catch(() => undefined);
        resolve({ ok: false, badInput: false, message: `queue job ${job.id} abandoned (sweep stopped)` });
      };
      signal.addEventListener('abort', stop, { once: true });
    });
    try {
      return await Promise.race([this.finished(job.waitUntilFinished(this.events) as Promise<QueueJobResult>, job.id), aborted]);
    } finally {
      if (stop) signal.removeEventListener('abort', stop);
    }
  }

  private async finished(done: Promise<QueueJobResult>, id: string | undefined): Promise<TrialOutcome> {
    let result: QueueJobResult;
    try {
      result = await done;
    } catch (err) {
      return { ok: false, badInput: false, message: `queue job ${id} failed: ${(err as Error).message}` };
    }
    if (result.record) await this.runs.write(result.record);
    if (result.outcome.ok && !result.record) return { ok: false, badInput: false, message: `queue job ${id}: worker ${result.worker} returned no run record` };
    return result.outcome;
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}
