import * as O from './command-options.js';
import type { OptionSpec } from './flags.js';

// Every command of the CLI as data: its words and arguments, its options (command-options.ts,
// where each command's flags type is derived from them) and the function that runs it.
// program.ts turns the table into commander commands; docs/cli.md is generated from it
// (reference.ts). A command's module loads only when it runs: a cached no-op `run` pays for no
// other command's modules.

export type { OptionSpec } from './flags.js';

export interface CommandSpec {
  /** The words and arguments: `run <file>`, `cache push [file]`, `runs rm <ref...>`. */
  usage: string;
  description: string;
  options?: readonly OptionSpec[];
  /** Started by paramflow itself (a sweep's worker, a Slurm task), never typed by users. */
  hidden?: boolean;
  /** Runs the command: its arguments, then its options; resolves to the exit code. */
  run: (...args: any[]) => Promise<number>;
}

/** Commands that only group others (`paramflow cache ls`). */
export const GROUPS: Readonly<Record<string, string>> = {
  cache: 'inspect and maintain the content-addressed cache',
  stage: 'write your own stages',
  queue: 'inspect the job queue (`run --executor queue`)',
};

export const COMMANDS: readonly CommandSpec[] = [
  {
    usage: 'run <file>',
    description: 'run a pipeline (stages whose inputs and params are unchanged come from the cache)',
    options: O.RUN,
    run: async (file: string, flags: O.RunFlags) => (await import('./commands/run.js')).runCommand(file, flags),
  },
  {
    usage: 'validate <file>',
    description: 'check a pipeline file (with --set overrides and every sweep trial) without running anything',
    options: O.VALIDATE,
    run: async (file: string, flags: O.ValidateFlags) =>
      (await import('./commands/validate.js')).validateCommand(file, flags),
  },
  {
    usage: 'status <file>',
    description: 'for each stage: cached, or why it would run',
    options: O.STATUS,
    run: async (file: string, flags: O.StatusFlags) =>
      (await import('./commands/status.js')).statusCommand(file, flags),
  },
  {
    usage: 'runs',
    description: 'list recorded runs (newest first)',
    options: O.RUNS,
    run: async (flags: O.RunsFlags) => (await import('./commands/runs.js')).runsCommand(flags),
  },
  {
    usage: 'runs rm <ref...>',
    description: 'remove recorded runs (by run id, run hash or stage key prefix)',
    run: async (refs: string[]) => (await import('./commands/runs.js')).runsRmCommand(refs),
  },
  {
    usage: 'cache ls',
    description: 'list cache entries',
    options: O.CACHE_LS,
    run: async (flags: O.CacheLsFlags) => (await import('./commands/cache.js')).cacheLsCommand(flags),
  },
  {
    usage: 'cache verify',
    description: 're-read every digest; remove entries that do not match',
    run: async () => (await import('./commands/cache.js')).cacheVerifyCommand(),
  },
  {
    usage: 'cache gc',
    description: 'remove entries not used by the newest N runs (never those a live run uses)',
    options: O.CACHE_GC,
    run: async (flags: O.CacheGcFlags) => (await import('./commands/cache.js')).cacheGcCommand(flags),
  },
  {
    usage: 'cache push [file]',
    description:
      "upload the local entries the remote cache lacks (remote: --remote, PARAMFLOW_CACHE_REMOTE, or the file's cache.remote)",
    options: O.CACHE_PUSH,
    run: async (file: string | undefined, flags: O.CacheRemoteFlags) =>
      (await import('./commands/cache-remote.js')).cachePushCommand(file, flags),
  },
  {
    usage: 'cache pull [file]',
    description: "download the remote cache's entries the local cache lacks (digests checked)",
    options: O.CACHE_PULL,
    run: async (file: string | undefined, flags: O.CacheRemoteFlags) =>
      (await import('./commands/cache-remote.js')).cachePullCommand(file, flags),
  },
  {
    usage: 'predict <ref> <curves>',
    description: "predict parameters of new curves (.npy [N, 2, P] or .csv x,y1,y2,…) with a run's fold models",
    options: O.PREDICT,
    run: async (ref: string, curves: string, flags: O.PredictFlags) =>
      (await import('./commands/predict.js')).predictCommand(ref, curves, flags),
  },
  {
    usage: 'repro <ref>',
    description:
      're-run a recorded run into a scratch cache and check, stage by stage, that it reproduces (run id, run hash, stage key, MLflow run id)',
    options: O.REPRO,
    run: async (ref: string, flags: O.ReproFlags) => (await import('./commands/repro.js')).reproCommand(ref, flags),
  },
  {
    usage: 'sync [ref]',
    description: 'send MLflow logging that was spooled while the server was unreachable (all runs, or one)',
    options: O.SYNC,
    run: async (ref: string | undefined, flags: O.SyncFlags) =>
      (await import('./commands/sync.js')).syncCommand(ref, flags),
  },
  {
    usage: 'register <ref>',
    description: "add a run's logged model (its fold models as an MLflow pyfunc model) to MLflow's Model Registry",
    options: O.REGISTER,
    run: async (ref: string, flags: O.RegisterFlags) =>
      (await import('./commands/register.js')).registerCommand(ref, flags),
  },
  {
    usage: 'compare <refs...>',
    description: "params side by side (differences marked) and metric deltas of runs, or of a sweep's trials",
    options: O.COMPARE,
    run: async (refs: string[], flags: O.CompareFlags) =>
      (await import('./commands/compare.js')).compareCommand(refs, flags),
  },
  {
    usage: 'show <ref>',
    description:
      'one run: pipeline, params, stages (keys, versions, times, metrics), artifacts, environment, MLflow link',
    options: O.SHOW,
    run: async (ref: string, flags: O.JsonFlags) => (await import('./commands/show.js')).showCommand(ref, flags),
  },
  {
    usage: 'diff <refA> <refB>',
    description:
      "why two runs' hashes differ: stage by stage, the first that changed by itself and those that followed; metric and environment differences",
    options: O.DIFF,
    run: async (refA: string, refB: string, flags: O.JsonFlags) =>
      (await import('./commands/diff.js')).diffCommand(refA, refB, flags),
  },
  {
    usage: 'export <ref> <dir>',
    description: "write a run's resolved pipeline.yaml (same run hash when run) with summary.md and summary.json",
    options: O.EXPORT,
    run: async (ref: string, dir: string, flags: O.ForceFlags) =>
      (await import('./commands/export.js')).exportCommand(ref, dir, flags),
  },
  {
    usage: 'report [ref]',
    description: 'write a self-contained HTML report of a sweep (default: the newest) or of a run',
    options: O.REPORT,
    run: async (ref: string | undefined, flags: O.ReportFlags) =>
      (await import('./commands/report.js')).reportCommand(ref, flags),
  },
  {
    usage: 'stage new <name>',
    description: 'scaffold a TypeScript stage module (stages/<name>.ts) and its test',
    options: O.STAGE_NEW,
    run: async (name: string, flags: O.StageNewFlags) =>
      (await import('./commands/stage-new.js')).stageNewCommand(name, flags),
  },
  {
    usage: 'init [dir]',
    description: 'set up a paramflow project: .paramflow/, an example pipeline, .gitignore',
    options: O.INIT,
    run: async (dir: string | undefined, flags: O.ForceFlags) =>
      (await import('./commands/init.js')).initCommand(dir ?? '.', flags),
  },
  {
    usage: 'worker',
    description:
      'serve a job queue (`run --executor queue`): run its jobs (sweep trials, plain runs) in this project folder until SIGTERM/SIGINT',
    options: O.WORKER,
    run: async (flags: O.WorkerFlags) => {
      const { queueSettings } = await import('../sweep/queue/settings.js');
      const { serveQueue } = await import('../sweep/queue/worker.js');
      return serveQueue({
        settings: queueSettings(flags),
        concurrency: flags.concurrency,
        log: (line) => process.stderr.write(line + '\n'),
      });
    },
  },
  {
    usage: 'queue status',
    description: 'waiting/active/completed/failed jobs and the connected workers',
    options: O.QUEUE_STATUS,
    run: async (flags: O.QueueStatusFlags) => (await import('./commands/queue-status.js')).queueStatusCommand(flags),
  },
  {
    // A sweep's worker process (src/sweep/worker.ts), started by `run`.
    usage: 'sweep-worker',
    description: "serve a local sweep's trials (started by `paramflow run`)",
    hidden: true,
    options: O.SWEEP_WORKER,
    run: async () => (await import('../sweep/worker.js')).serveTrials(),
  },
  {
    // One trial of a Slurm job array (src/sweep/slurm/task.ts), written into the sbatch script.
    usage: 'slurm-task <dir>',
    description: 'run one task of a Slurm job array (written into the sbatch script)',
    hidden: true,
    run: async (dir: string) => (await import('../sweep/slurm/task.js')).runSlurmTask(dir),
  },
];
