import { ParamflowError } from '../../util/errors.js';
import type { SweepOptions } from '../../sweep/run-sweep.js';

/**
 * `--executor slurm`: checked before anything runs (no sbatch here is bad input, exit 2);
 * the Slurm code itself is loaded only then.
 */
export async function slurmExecutor(flags: { dryRun?: boolean }): Promise<Pick<SweepOptions, 'makeExecutor'>> {
  if (flags.dryRun) return {};
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
  const { SlurmTrialExecutor } = await import('../../sweep/slurm/executor.js');
  return {
    makeExecutor: (base, layout) =>
      new SlurmTrialExecutor({
        settings: base.executor?.slurm ?? {},
        layout,
        name: `paramflow-${base.name}`,
        log: (line) => process.stderr.write(line + '\n'),
      }),
  };
}

/**
 * `--executor queue`: the Redis server (PARAMFLOW_REDIS_URL) must answer before anything
 * runs — an unreachable one is bad input, exit 2 — the BullMQ code loads only then.
 */
export async function queueExecutor(flags: { dryRun?: boolean }): Promise<Pick<SweepOptions, 'makeExecutor'>> {
  if (flags.dryRun) return {};
  const { queueSettings } = await import('../../sweep/queue/settings.js');
  const settings = queueSettings();
  const { queueStatus } = await import('../../sweep/queue/status.js');
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
  const { QueueTrialExecutor } = await import('../../sweep/queue/executor.js');
  return {
    makeExecutor: (_base, layout) =>
      new QueueTrialExecutor({ settings, layout, log: (line) => process.stderr.write(line + '\n') }),
  };
}
