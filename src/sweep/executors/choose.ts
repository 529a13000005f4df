import { ParamflowError } from '../../util/errors.js';
import type { SweepOptions } from '../run-sweep.js';

/** Where trials (or a run sent elsewhere) run, by `--executor`: undefined for here (local workers). */
export async function chooseExecutor(
  name: string | undefined,
  options: { dryRun?: boolean; log: (line: string) => void },
): Promise<Pick<SweepOptions, 'makeExecutor'> | undefined> {
  if (name === 'slurm') return slurmExecutor(options);
  if (name === 'queue') return queueExecutor(options);
  return undefined;
}

/**
 * `--executor slurm`: checked before anything runs (no sbatch here is bad input, exit 2);
 * the Slurm code itself is loaded only then.
 */
async function slurmExecutor(options: {
  dryRun?: boolean;
  log: (line: string) => void;
}): Promise<Pick<SweepOptions, 'makeExecutor'>> {
  if (options.dryRun) return {};
  const { execa } = await import('execa');
  const probe = await execa('sbatch', ['--version'], { reject: false });
  if (probe.exitCode !== 0) {
    throw new ParamflowError(
      'PF_BAD_FLAG',
      `--executor slurm: sbatch does not run here (${
        probe.code === 'ENOENT'
          ? 'not on PATH'
          : String(probe.stderr || probe.message)
              .trim()
              .split('\n')[0]
      })`,
      {
        location: { file: '<command line>' },
        hint: 'submit from a Slurm login node (where `sbatch --version` works), or use the default local executor',
      },
    );
  }
  const { SlurmTrialExecutor } = await import('./slurm.js');
  return {
    makeExecutor: (base, layout) =>
      new SlurmTrialExecutor({
        settings: base.executor?.slurm ?? {},
        layout,
        name: `paramflow-${base.name}`,
        log: options.log,
      }),
  };
}

/**
 * `--executor queue`: the Redis server (PARAMFLOW_REDIS_URL) must answer before anything
 * runs — an unreachable one is bad input, exit 2 — the BullMQ code loads only then.
 */
async function queueExecutor(options: {
  dryRun?: boolean;
  log: (line: string) => void;
}): Promise<Pick<SweepOptions, 'makeExecutor'>> {
  if (options.dryRun) return {};
  const { queueSettings } = await import('../queue/settings.js');
  const settings = queueSettings();
  const { queueStatus } = await import('../queue/status.js');
  try {
    await queueStatus(settings);
  } catch (err) {
    throw new ParamflowError(
      'PF_BAD_FLAG',
      `--executor queue: cannot reach Redis at ${settings.redis} (${(err as Error).message})`,
      {
        location: { file: 'PARAMFLOW_REDIS_URL' },
        hint: 'start redis-server, or set PARAMFLOW_REDIS_URL=redis://host:port',
      },
    );
  }
  const { QueueTrialExecutor } = await import('./queue.js');
  return {
    makeExecutor: (_base, layout) => new QueueTrialExecutor({ settings, layout, log: options.log }),
  };
}
