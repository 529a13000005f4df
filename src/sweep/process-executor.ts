import { execa } from 'execa';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { TrialTag } from './record.js';

export interface TrialTask {
  file: string;
  /** `--set` texts: the shared overrides, the trial's values and the replicate's seed. */
  sets: string[];
  tag: TrialTag;
  noCache: boolean;
  backend?: string;
  cwd: string;
  /** More environment for the worker (the MLflow parent link, see mlflow-parent.ts). */
  env?: Record<string, string>;
}

export type TrialOutcome =
  | { ok: true; runId: string }
  | { ok: false; badInput: boolean; message: string; runId?: string };

// Where a sweep's trials run. Local worker processes today (each its own `paramflow run`,
// so a crash takes down one trial, and the cache's per-key locks share upstream stages);
// a job queue across machines plugs in here later.
export interface TrialExecutor {
  run(task: TrialTask, signal: AbortSignal): Promise<TrialOutcome>;
}

export class ProcessTrialExecutor implements TrialExecutor {
  async run(task: TrialTask, signal: AbortSignal): Promise<TrialOutcome> {
    const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
    const args = [cli, 'run', task.file, '--json', ...task.sets.flatMap((s) => ['--set', s])];
    if (task.noCache) args.push('--no-cache');
    if (task.backend) args.push('--backend', task.backend);
    const r = await execa(process.execPath, args, {
      cwd: task.cwd,
      reject: false,
      cancelSignal: signal,
      // SIGTERM first, then SIGKILL: the worker marks its run KILLED when it can.
      forceKillAfterDelay: 3000,
      env: {
        ...task.env,
        PARAMFLOW_SWEEP_TRIAL: JSON.stringify(task.tag),
        // One BLAS/OpenMP thread per worker: the workers share the cores.
        OPENBLAS_NUM_THREADS: '1',
        OMP_NUM_THREADS: '1',
      },
    });
    const runId = (() => {
      try {
        return (JSON.parse(String(r.stdout)) as { runId?: string }).runId;
      } catch {
        return undefined;
      }
    })();
    if (r.exitCode === 0 && runId) return { ok: true, runId };
    const tail = String(r.stderr).trim().split('\n').slice(-4).join('\n    ');
    const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    return { ok: false, badInput: r.exitCode === 2, message: `${how}${tail ? `:\n    ${tail}` : ''}`, ...(runId ? { runId } : {}) };
  }
}
