import { execa, type Message } from 'execa';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../util/package-root.js';
import type { TrialExecutor, TrialOutcome, TrialTask } from '../trial-executor.js';
import type { RungReport, Verdict } from '../../runner/pruning.js';

/** Parent → worker and worker → parent messages (see worker.ts). */
export type ToWorker =
  { type: 'trial'; task: TrialTask } | { type: 'stop' } | { type: 'verdict'; id: number; verdict: Verdict };
export type FromWorker =
  | { type: 'outcome'; outcome: TrialOutcome }
  | { type: 'progress'; line: string }
  | { type: 'rung'; id: number; report: RungReport };

const STDERR_TAIL = 4;

interface Worker {
  proc: ReturnType<typeof startWorker>;
  /** The worker's stderr lines since its current trial began. */
  lines: string[];
}

/**
 * A pool of worker processes (`paramflow sweep-worker`), one trial at a time each. A worker
 * stays up between trials, so TensorFlow is loaded and its code warmed once per worker,
 * not once per trial; a crash still takes down only the trial it was running, and the
 * next trial gets a fresh worker. Upstream stages are shared through the cache's locks.
 */
export class ProcessTrialExecutor implements TrialExecutor {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  /** BLAS/OpenMP threads per worker: its share of the cores (prepare() knows how many run at once). */
  private threads = 1;

  /** `root` is named on each worker's command line, so `ps` shows whose worker it is. */
  constructor(private readonly root: string) {}

  /**
   * Starts the workers now, so node and paramflow load while the sweep sets up. They load
   * nothing more before their first trial: pre-loading TensorFlow.js and the plot renderers
   * gained nothing measurable on executed trials and cost a cached sweep ~0.5 s.
   */
  prepare(slots: number): void {
    this.threads = workerThreads(availableParallelism(), slots);
    for (let i = this.all.size; i < slots; i++) this.idle.push(this.spawn(process.cwd()));
  }

  async run(
    task: TrialTask,
    signal: AbortSignal,
    progress?: (line: string) => void,
    rung?: (report: RungReport) => Promise<Verdict>,
  ): Promise<TrialOutcome> {
    const w = this.idle.pop() ?? this.spawn(task.cwd);
    w.lines = [];
    const stop = () => void w.proc.kill('SIGTERM');
    signal.addEventListener('abort', stop, { once: true });
    try {
      // Listen before sending: a trial refused at once answers quickly.
      const answer = outcomeOf(w.proc, progress, rung);
      await w.proc.sendMessage(asMessage({ type: 'trial', task }));
      const reply = await answer;
      if (reply?.type === 'outcome' && !signal.aborted) {
        this.idle.push(w);
        return reply.outcome;
      }
    } catch {
      // the worker died before it took the trial: reported from its exit below
    } finally {
      signal.removeEventListener('abort', stop);
    }
    const r = await w.proc.catch((e: unknown) => e as { signal?: string; exitCode?: number });
    this.all.delete(w);
    const how = r.signal ? `killed by ${r.signal}` : `worker exited with code ${r.exitCode}`;
    const tail = w.lines.slice(-STDERR_TAIL).join('\n    ');
    return { ok: false, badInput: false, message: `${how}${tail ? `:\n    ${tail}` : ''}` };
  }

  async close(): Promise<void> {
    for (const w of this.idle.splice(0)) await w.proc.sendMessage(asMessage({ type: 'stop' })).catch(() => undefined);
    await Promise.all([...this.all].map((w) => w.proc.catch(() => undefined)));
    this.all.clear();
  }

  private spawn(cwd: string): Worker {
    const proc = startWorker(this.root, cwd, this.threads);
    const w: Worker = { proc, lines: [] };
    let partial = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      w.lines.push(...parts.filter((l) => l.trim() !== ''));
      if (w.lines.length > 4 * STDERR_TAIL) w.lines.splice(0, w.lines.length - STDERR_TAIL);
    });
    proc.stderr.on('end', () => partial.trim() && w.lines.push(partial));
    // A dead worker is noticed by the trial waiting on it; never an unhandled rejection.
    proc.catch(() => undefined);
    this.all.add(w);
    return w;
  }
}

/**
 * A worker's share of the cores when `slots` trials run at once: 1 with `--jobs` equal to the
 * cores (BLAS threads would only fight over them), all of them with `--jobs 1`.
 * `PARAMFLOW_BLAS_THREADS` in the sweep's environment still wins (the worker inherits it).
 */
export function workerThreads(cores: number, slots: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, slots)));
}

function startWorker(root: string, cwd: string, threads: number) {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  return execa(process.execPath, [cli, 'sweep-worker', '--root', root], {
    cwd,
    ipc: true,
    serialization: 'json',
    buffer: false,
    stdout: 'ignore',
    // SIGTERM first, then SIGKILL: the worker marks its run KILLED when it can.
    forceKillAfterDelay: 3000,
    env: {
      // The workers share the cores: each its share of BLAS/OpenMP threads.
      OPENBLAS_NUM_THREADS: `${threads}`,
      OMP_NUM_THREADS: `${threads}`,
    },
  });
}

const asMessage = (m: ToWorker) => m as unknown as Message<'json'>;

/**
 * The worker's outcome for its trial, passing on its progress lines until then (undefined: it
 * died first). A plain 'message' listener for the progress: execa's message iterator would
 * disconnect the worker when the loop ends, and the worker serves the next trial too.
 */
async function outcomeOf(
  proc: ReturnType<typeof startWorker>,
  progress?: (line: string) => void,
  rung?: (report: RungReport) => Promise<Verdict>,
): Promise<Extract<FromWorker, { type: 'outcome' }> | undefined> {
  const onMessage = (raw: unknown) => {
    const msg = raw as FromWorker;
    if (msg?.type === 'progress') progress?.(msg.line);
    // The trial waits at its rung for the answer (no pruner here: it goes on).
    if (msg?.type === 'rung')
      void (rung ? rung(msg.report) : Promise.resolve({ prune: false }))
        .then((verdict) => proc.sendMessage(asMessage({ type: 'verdict', id: msg.id, verdict })))
        .catch(() => undefined); // the worker died meanwhile: its exit is reported
  };
  proc.on('message', onMessage);
  try {
    const reply = (await proc.getOneMessage({
      filter: (m) => (m as unknown as FromWorker)?.type === 'outcome',
    })) as unknown as Extract<FromWorker, { type: 'outcome' }>;
    return reply;
  } catch {
    return undefined; // the worker died: reported from its exit
  } finally {
    proc.off('message', onMessage);
  }
}
