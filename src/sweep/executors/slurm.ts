import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SlurmSettings } from '../../config/spec.js';
import type { Layout } from '../../project/layout.js';
import { packageRoot } from '../../util/package-root.js';
import type { TrialExecutor, TrialOutcome, TrialTask } from '../trial-executor.js';
import { parseSbatch, sbatchScript } from '../slurm/script.js';
import {
  describeEnd,
  isTerminal,
  parseSacct,
  parseSqueue,
  stoppedBySlurm,
  taskEnd,
  type TaskState,
} from '../slurm/states.js';

interface Waiting {
  task: TrialTask;
  resolve: (o: TrialOutcome) => void;
}

interface Batch {
  dir: string;
  jobId: string;
  pending: Map<number, Waiting>;
  lastProgress?: string;
}

export interface SlurmOptions {
  settings: SlurmSettings;
  layout: Layout;
  name: string;
  log: (line: string) => void;
}

/**
 * Runs a sweep's trials as Slurm job arrays: the trials asked for in one turn of the
 * event loop (all of them, as the sweep starts every trial at once for this executor)
 * become one `sbatch --array`; retries become small arrays of their own (a plain run sent
 * here is an array of one task). Each task runs
 * `paramflow slurm-task` in the project folder, which must be on the shared disk: its
 * run record lands in this project's run store and it uses this project's cache (and
 * the remote cache, if one is set). squeue is polled for progress; a task gone from
 * squeue is done: its result file says how, or sacct says why it has none.
 */
export class SlurmTrialExecutor implements TrialExecutor {
  readonly prunes = false; // a batch job has no channel back to the sweep while it trains
  readonly name = '--executor slurm';
  private queued: Waiting[] = [];
  private readonly batches = new Set<Batch>();
  private polling: Promise<void> | undefined;
  private closed = false;
  /** Ends the wait between two polls when the sweep is over (Ctrl-C must not wait for it). */
  private readonly stopWaiting = new AbortController();

  constructor(private readonly o: SlurmOptions) {}

  run(task: TrialTask, signal: AbortSignal): Promise<TrialOutcome> {
    return new Promise((resolve) => {
      const w: Waiting = { task, resolve };
      this.queued.push(w);
      if (this.queued.length === 1) setImmediate(() => void this.submit(signal));
    });
  }

  private async submit(signal: AbortSignal): Promise<void> {
    const group = this.queued.splice(0);
    const dir = this.o.layout.slurmSubmission(
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`,
    );
    try {
      await mkdir(join(dir, 'out'), { recursive: true });
      await mkdir(join(dir, 'logs'), { recursive: true });
      await writeFile(
        join(dir, 'tasks.json'),
        JSON.stringify(
          group.map((w) => w.task),
          null,
          2,
        ),
      );
      const script = sbatchScript({
        settings: this.o.settings,
        count: group.length,
        dir,
        cwd: group[0]!.task.cwd,
        name: this.o.name,
        node: process.execPath,
        cli: join(packageRoot(), 'dist', 'src', 'cli', 'main.js'),
      });
      await writeFile(join(dir, 'job.sbatch'), script);
      const r = await execa('sbatch', ['--parsable', join(dir, 'job.sbatch')], { cwd: group[0]!.task.cwd });
      const batch: Batch = { dir, jobId: parseSbatch(r.stdout), pending: new Map(group.map((w, i) => [i, w])) };
      this.batches.add(batch);
      this.o.log(
        `slurm: submitted job array ${batch.jobId} (${group.length} task${group.length > 1 ? 's' : ''}; scripts and logs in ${dir})`,
      );
      signal.addEventListener('abort', () => void this.cancel(batch), { once: true });
      this.polling ??= this.poll();
    } catch (err) {
      const message = `sbatch failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`;
      for (const w of group) w.resolve({ ok: false, badInput: true, message });
    }
  }

  private async poll(): Promise<void> {
    const every = (this.o.settings.poll_seconds ?? 15) * 1000;
    while (!this.closed && this.batches.size > 0) {
      for (const b of [...this.batches]) await this.check(b);
      if (this.batches.size > 0)
        await delay(every, undefined, { signal: this.stopWaiting.signal }).catch(() => undefined);
    }
    this.polling = undefined;
  }

  /** One look at a batch: tasks squeue no longer lists as pending or running are finished. */
  async check(b: Batch): Promise<void> {
    // -t all: slurmctld also lists tasks that ended in the last MinJobAge, with their end
    // state (TIMEOUT, CANCELLED, ...) before the accounting database has it.
    const live = await execa('squeue', ['-h', '-r', '-t', 'all', '-j', b.jobId, '-o', '%i|%T|%r'], { reject: false });
    // squeue refuses a job id it has already forgotten (every task done): nothing is live.
    // Any other failure (slurmctld busy or restarting) says nothing: look again later.
    const forgotten = live.exitCode !== 0 && /invalid job id/i.test(String(live.stderr));
    if (live.exitCode !== 0 && !forgotten) return;
    const states = forgotten ? [] : parseSqueue(String(live.stdout));
    const running = new Set(states.filter((s) => !isTerminal(s.state)).map((s) => s.index));
    this.progress(
      b,
      states.filter((s) => !isTerminal(s.state)),
    );
    const ended = [...b.pending.keys()].filter((i) => !running.has(i));
    if (ended.length === 0) return;
    /** sacct's answer (fetched once a check, when needed); null when sacct failed. */
    let accounting: TaskState[] | null | undefined;
    const log = (i: number) => `log: ${join(b.dir, 'logs', `${b.jobId}_${i}.log`)}`;
    for (const i of ended) {
      const result = await readResult(b.dir, i);
      // squeue's reason is no exit code: describeEnd gets sacct's, or none.
      const queued = states.find((s) => s.index === i && isTerminal(s.state));
      if (result) {
        if (result.ok) {
          this.finish(b, i, result);
          continue;
        }
        // A task Slurm stopped (time limit, scancel, preemption) still leaves a result when
        // it has time to; the trial's own message then says only that it was stopped.
        const end = queued
          ? { ...queued, detail: undefined }
          : taskEnd((accounting ??= await sacct(b.jobId)) ?? [], b.jobId, i);
        const why = end && stoppedBySlurm(end.state) ? `${describeEnd(end)}: ` : '';
        this.finish(b, i, { ...result, message: `${why}${result.message}; ${log(i)}` });
        continue;
      }
      accounting ??= await sacct(b.jobId);
      // sacct has the exit code; squeue's end state stands in only when sacct does not answer.
      const end =
        taskEnd(accounting ?? [], b.jobId, i) ?? (accounting ? undefined : queued && { ...queued, detail: undefined });
      // slurmctld says it ended, sacct does not have it yet (its database lags): look again.
      if (!end && queued) continue;
      if (end && !isTerminal(end.state)) continue;
      // A pending task scancelled on its own is cut from the array: slurmctld still lists the
      // array's other tasks but not this one, and sacct never will (recorded on Slurm 22.05).
      const cut = !end && states.length > 0;
      const how = end
        ? describeEnd(end)
        : cut
          ? `slurm task ${b.jobId}_${i} CANCELLED while pending (Slurm no longer lists it)`
          : `slurm task ${b.jobId}_${i} ended without a result`;
      this.finish(b, i, { ok: false, badInput: false, message: `${how}; ${log(i)}` });
    }
  }

  /** A line when the array's counts change: `slurm 4711: 2 RUNNING, 4 PENDING (Priority)`. */
  private progress(b: Batch, states: TaskState[]): void {
    const counts = new Map<string, number>();
    for (const s of states.filter((x) => b.pending.has(x.index))) {
      const label = s.state === 'PENDING' && s.detail ? `PENDING (${s.detail})` : s.state;
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    const line = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
    if (line && line !== b.lastProgress) this.o.log(`slurm ${b.jobId}: ${line}`);
    b.lastProgress = line;
  }

  private finish(b: Batch, i: number, outcome: TrialOutcome): void {
    b.pending.get(i)?.resolve(outcome);
    b.pending.delete(i);
    if (b.pending.size === 0) this.batches.delete(b);
  }

  private async cancel(b: Batch): Promise<void> {
    await execa('scancel', [b.jobId], { reject: false });
    for (const i of [...b.pending.keys()])
      this.finish(b, i, { ok: false, badInput: false, message: `slurm job ${b.jobId} cancelled (sweep stopped)` });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWaiting.abort();
    for (const b of [...this.batches]) await this.cancel(b);
  }
}

async function readResult(dir: string, i: number): Promise<TrialOutcome | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'out', `${i}.json`), 'utf8')) as TrialOutcome;
  } catch {
    return undefined;
  }
}

/** sacct's answer; null when it has none (no accounting here, or slurmdbd down). */
async function sacct(jobId: string): Promise<TaskState[] | null> {
  const r = await execa('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'JobID,State,ExitCode'], { reject: false });
  return r.exitCode === 0 ? parseSacct(r.stdout) : null;
}
