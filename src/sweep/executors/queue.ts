import { Queue, QueueEvents } from 'bullmq';
import { relative } from 'node:path';
import type { Layout } from '../../project/layout.js';
import { RunStore } from '../../tracking/run-store.js';
import type { TrialExecutor, TrialOutcome, TrialTask } from '../trial-executor.js';
import type { RungReport, Verdict } from '../../runner/pruning.js';
import { VerdictSender } from '../queue/verdicts.js';
import {
  connection,
  isJobProgress,
  type QueueJobData,
  type QueueJobResult,
  type QueueSettings,
} from '../queue/settings.js';

export interface QueueOptions {
  settings: QueueSettings;
  layout: Layout;
  log: (line: string) => void;
}

/**
 * Runs a sweep's trials (or a plain run, as one job) as BullMQ jobs, taken by `paramflow
 * worker` processes on any machine that reaches the Redis server and has a checkout of the
 * project (stages are shared through the remote cache). A job's return value carries the
 * worker's run record, written here into this project's run store, so `runs`, compare and
 * report see the run as if it had run here. A worker that dies mid-job leaves a stalled job, which
 * BullMQ hands to another worker; `attempts: 2` covers a job whose worker threw.
 */
export class QueueTrialExecutor implements TrialExecutor {
  readonly elsewhere = true;
  private readonly queue: Queue<QueueJobData, QueueJobResult>;
  private readonly events: QueueEvents;
  private readonly runs: RunStore;
  private readonly ready: Promise<unknown>;
  private readonly following = new Map<string, (data: unknown) => void>();
  private early: { jobId: string; data: unknown }[] = [];
  private adding = 0;
  private verdicts: VerdictSender | undefined;

  constructor(private readonly o: QueueOptions) {
    const conn = connection(o.settings);
    this.queue = new Queue(o.settings.queue, { connection: conn });
    this.events = new QueueEvents(o.settings.queue, { connection: conn });
    // Listen before the first job is added, or a quick job's completion could be missed.
    this.ready = this.events.waitUntilReady();
    this.events.on('progress', (e) => this.onProgress(e));
    this.runs = new RunStore(o.layout);
  }

  async run(
    task: TrialTask,
    signal: AbortSignal,
    _progress?: (line: string) => void,
    rung?: (report: RungReport) => Promise<Verdict>,
  ): Promise<TrialOutcome> {
    await this.ready;
    const { file, cwd: _cwd, ...rest } = task;
    const data: QueueJobData = { task: rest, file: relative(this.o.layout.root, file) };
    const what = task.tag ? `trial ${task.tag.trial} replicate ${task.tag.replicate}` : `run of ${data.file}`;
    const name = task.tag ? `${task.tag.sweep}/${task.tag.trial}/${task.tag.replicate}` : `run/${data.file}`;
    // Its worker may report before `add` answers here: see onProgress.
    this.adding++;
    const job = await this.queue
      .add(name, data, {
        attempts: 2,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: false,
        removeOnFail: false,
      })
      .finally(() => this.adding--);
    this.o.log(`queue ${this.o.settings.queue}: job ${job.id} = ${what}, waiting for a worker`);
    const unfollow = this.follow(String(job.id), what, rung);
    try {
      let stop: (() => void) | undefined;
      const aborted = new Promise<TrialOutcome>((resolve) => {
        stop = () => {
          void job.remove().catch(() => undefined);
          resolve({
            ok: false,
            badInput: false,
            message: `queue job ${job.id} abandoned (${task.tag ? 'sweep' : 'run'} stopped)`,
          });
        };
        signal.addEventListener('abort', stop, { once: true });
      });
      try {
        return await Promise.race([
          this.finished(job.waitUntilFinished(this.events) as Promise<QueueJobResult>, job.id, what),
          aborted,
        ]);
      } finally {
        if (stop) signal.removeEventListener('abort', stop);
      }
    } finally {
      unfollow();
    }
  }

  /**
   * Logs a job's progress events: which worker started it (again, when a stalled job is
   * handed on) and the lines a plain run's worker forwards. One listener for all jobs (a
   * sweep has many at once); events of a job whose id `add` has not answered yet are kept
   * until it has.
   */
  private onProgress({ jobId, data }: { jobId: string; data: unknown }): void {
    const show = this.following.get(jobId);
    if (show) show(data);
    else if (this.adding > 0) this.early.push({ jobId, data });
  }

  private follow(jobId: string, what: string, rung?: (report: RungReport) => Promise<Verdict>): () => void {
    let worker: string | undefined;
    const show = (data: unknown) => {
      if (!isJobProgress(data)) return;
      if (data.rung) {
        const { id, report } = data.rung;
        // No pruner for this job (a rung it should not have sent): it goes on.
        void (rung ? rung(report) : Promise.resolve({ prune: false }))
          .then((verdict) => (this.verdicts ??= new VerdictSender(this.o.settings)).send(jobId, id, verdict))
          .catch((err: Error) =>
            this.o.log(`queue ${this.o.settings.queue}: job ${jobId}: no verdict sent (${err.message})`),
          );
        return;
      }
      if (data.worker !== worker)
        this.o.log(
          `queue ${this.o.settings.queue}: job ${jobId} (${what}) started on worker ${(worker = data.worker)}`,
        );
      if (data.line !== undefined) this.o.log(data.line);
    };
    this.following.set(jobId, show);
    for (const e of this.early.filter((x) => x.jobId === jobId)) show(e.data);
    this.early = this.adding > 0 ? this.early.filter((x) => x.jobId !== jobId) : [];
    return () => this.following.delete(jobId);
  }

  private async finished(done: Promise<QueueJobResult>, id: string | undefined, what: string): Promise<TrialOutcome> {
    let result: QueueJobResult;
    try {
      result = await done;
    } catch (err) {
      return { ok: false, badInput: false, message: `queue job ${id} failed: ${(err as Error).message}` };
    }
    this.o.log(
      `queue ${this.o.settings.queue}: job ${id} (${what}) ${result.outcome.ok ? 'finished' : 'failed'} on worker ${result.worker}`,
    );
    if (result.record) await this.runs.write(result.record);
    if (result.outcome.ok && !result.record)
      return { ok: false, badInput: false, message: `queue job ${id}: worker ${result.worker} returned no run record` };
    return result.outcome;
  }

  async close(): Promise<void> {
    await this.verdicts?.close();
    await this.events.close();
    await this.queue.close();
  }
}
