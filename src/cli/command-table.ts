import { InvalidArgumentError } from 'commander';
import { parseTolerance } from './parse-tolerance.js';

// Every command of the CLI as data: its words and arguments, its options and the function that
// runs it. program.ts turns the table into commander commands; docs/cli.md is generated from
// it (reference.ts). A command's module loads only when it runs: a cached no-op `run` pays for
// no other command's modules.

export interface OptionSpec {
  /** Commander's flags: `-j, --jobs <n>`, `--no-cache`. */
  flags: string;
  description: string;
  /** Turns the typed text into the value (and refuses a bad one with InvalidArgumentError). */
  parse?: (value: string, previous: unknown) => unknown;
  default?: unknown;
  choices?: readonly string[];
  required?: boolean;
}

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

const collect = (value: string, previous: unknown) => [...((previous as string[]) ?? []), value];
const wholeNumber = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
  return n;
};

/** `--json`, declared once: what it prints, or the listing as JSON. */
const json = (what?: string): OptionSpec => ({
  flags: '--json',
  description: what ? `print ${what} as JSON on stdout` : 'machine-readable output',
});
const set = (description = 'override a value (repeatable)'): OptionSpec => ({
  flags: '--set <key=value>',
  description,
  parse: collect,
  default: [],
});
const backend = (description: string): OptionSpec => ({ flags: '--backend <name>', description });
const jobs: OptionSpec = {
  flags: '-j, --jobs <n>',
  description: 'independent stages to run at once',
  parse: wholeNumber('--jobs', 1),
};
const remote: OptionSpec = { flags: '--remote <where>', description: 'a shared folder or s3://bucket/prefix' };
const redis: OptionSpec = {
  flags: '--redis <url>',
  description: 'the Redis server (default: PARAMFLOW_REDIS_URL, else redis://127.0.0.1:6379)',
};
const queue: OptionSpec = {
  flags: '--queue <name>',
  description: 'the queue (default: PARAMFLOW_QUEUE, else paramflow)',
};
const force = (description: string): OptionSpec => ({ flags: '--force', description });

export const COMMANDS: readonly CommandSpec[] = [
  {
    usage: 'run <file>',
    description: 'run a pipeline (stages whose inputs and params are unchanged come from the cache)',
    options: [
      set('override a value: <stage>.<param>=v, seed=…, name=…, tracking.<k>=… (repeatable)'),
      { flags: '--no-cache', description: 'execute every stage even when its outputs are cached' },
      { flags: '--dry-run', description: 'show what would run and why; write nothing' },
      jobs,
      backend('TensorFlow.js backend: tfjs-node, native, wasm or cpu (default: the fastest that loads)'),
      {
        flags: '--sweep <key=v1,v2,…>',
        description: "sweep a key over values (grid; repeatable; adds to the file's sweep:)",
        parse: collect,
        default: [],
      },
      { flags: '--fail-fast', description: 'stop a sweep at its first failed trial' },
      {
        flags: '--profile',
        description: 'time every TensorFlow.js kernel: per stage, and per kernel for stages that train or predict',
      },
      {
        flags: '--executor <name>',
        description:
          "where the run (or a sweep's trials) runs: here (local worker processes for trials), a Slurm job array (settings from executor.slurm:), or a Redis job queue served by `paramflow worker` (PARAMFLOW_REDIS_URL)",
        choices: ['local', 'slurm', 'queue'],
        default: 'local',
      },
      json('the run (or sweep) summary'),
    ],
    run: async (file, flags) => (await import('./commands/run.js')).runCommand(file, flags),
  },
  {
    usage: 'validate <file>',
    description: 'check a pipeline file (with --set overrides and every sweep trial) without running anything',
    options: [
      set(),
      {
        flags: '--sweep <key=v1,v2,…>',
        description: 'sweep a key over values (repeatable)',
        parse: collect,
        default: [],
      },
    ],
    run: async (file, flags) => (await import('./commands/validate.js')).validateCommand(file, flags),
  },
  {
    usage: 'status <file>',
    description: 'for each stage: cached, or why it would run',
    options: [set(), backend('TensorFlow.js backend whose cache entries to look for'), json()],
    run: async (file, flags) => (await import('./commands/status.js')).statusCommand(file, flags),
  },
  {
    usage: 'runs',
    description: 'list recorded runs (newest first)',
    options: [
      json(),
      { flags: '-n, --limit <n>', description: 'show at most n runs', parse: wholeNumber('--limit', 1) },
      { flags: '--pipeline <name>', description: 'only runs of this pipeline' },
      { flags: '--sweep [ref]', description: 'the trials of a sweep (default: the newest), best first' },
      { flags: '--sort <metric>', description: 'with --sweep: sort trials by this metric (default: the objective)' },
    ],
    run: async (flags) => (await import('./commands/runs.js')).runsCommand(flags),
  },
  {
    usage: 'runs rm <ref...>',
    description: 'remove recorded runs (by run id, run hash or stage key prefix)',
    run: async (refs) => (await import('./commands/runs.js')).runsRmCommand(refs),
  },
  {
    usage: 'cache ls',
    description: 'list cache entries',
    options: [json()],
    run: async (flags) => (await import('./commands/cache.js')).cacheLsCommand(flags),
  },
  {
    usage: 'cache verify',
    description: 're-read every digest; remove entries that do not match',
    run: async () => (await import('./commands/cache.js')).cacheVerifyCommand(),
  },
  {
    usage: 'cache gc',
    description: 'remove entries not used by the newest N runs (never those a live run uses)',
    options: [
      {
        flags: '--keep <n>',
        description: 'keep entries used by the newest n runs',
        parse: wholeNumber('--keep', 0),
        required: true,
      },
      { flags: '--dry-run', description: 'list what would be removed' },
      json('what was removed and kept'),
    ],
    run: async (flags) => (await import('./commands/cache.js')).cacheGcCommand(flags),
  },
  {
    usage: 'cache push [file]',
    description:
      "upload the local entries the remote cache lacks (remote: --remote, PARAMFLOW_CACHE_REMOTE, or the file's cache.remote)",
    options: [remote, json('what was pushed')],
    run: async (file, flags) => (await import('./commands/cache-remote.js')).cachePushCommand(file, flags),
  },
  {
    usage: 'cache pull [file]',
    description: "download the remote cache's entries the local cache lacks (digests checked)",
    options: [remote, json('what was pulled')],
    run: async (file, flags) => (await import('./commands/cache-remote.js')).cachePullCommand(file, flags),
  },
  {
    usage: 'predict <ref> <curves>',
    description: "predict parameters of new curves (.npy [N, 2, P] or .csv x,y1,y2,…) with a run's fold models",
    options: [
      {
        flags: '-o, --out <file>',
        description: 'write .csv, or .npy (means; spread in <file>.std.npy); default: CSV on stdout',
      },
      backend("TensorFlow.js backend (default: the run's, if it loads)"),
    ],
    run: async (ref, curves, flags) => (await import('./commands/predict.js')).predictCommand(ref, curves, flags),
  },
  {
    usage: 'repro <ref>',
    description:
      're-run a recorded run into a scratch cache and check, stage by stage, that it reproduces (run id, run hash, stage key, MLflow run id)',
    options: [
      {
        flags: '--tolerance <rel>',
        description: 'relative tolerance for metrics of stages run on another backend: 0.02 or 2%',
        parse: parseTolerance,
      },
      { flags: '--strict', description: 'refuse to run (exit 2) when the environment differs from the recorded one' },
      { flags: '--keep', description: 'keep the scratch cache for inspection (its path is printed)' },
      backend('TensorFlow.js backend (default: the recorded one, if it loads)'),
      jobs,
      json('the report'),
    ],
    run: async (ref, flags) => (await import('./commands/repro.js')).reproCommand(ref, flags),
  },
  {
    usage: 'sync [ref]',
    description: 'send MLflow logging that was spooled while the server was unreachable (all runs, or one)',
    options: [
      {
        flags: '--show-refused',
        description: 'list the operations the MLflow server refused for good (all runs, or one), with its reasons',
      },
    ],
    run: async (ref, flags) => (await import('./commands/sync.js')).syncCommand(ref, flags),
  },
  {
    usage: 'compare <refs...>',
    description: "params side by side (differences marked) and metric deltas of runs, or of a sweep's trials",
    options: [{ flags: '--all', description: 'show every param, not only those that differ' }, json()],
    run: async (refs, flags) => (await import('./commands/compare.js')).compareCommand(refs, flags),
  },
  {
    usage: 'show <ref>',
    description:
      'one run: pipeline, params, stages (keys, versions, times, metrics), artifacts, environment, MLflow link',
    options: [json()],
    run: async (ref, flags) => (await import('./commands/show.js')).showCommand(ref, flags),
  },
  {
    usage: 'diff <refA> <refB>',
    description:
      "why two runs' hashes differ: stage by stage, the first that changed by itself and those that followed; metric and environment differences",
    options: [json()],
    run: async (refA, refB, flags) => (await import('./commands/diff.js')).diffCommand(refA, refB, flags),
  },
  {
    usage: 'export <ref> <dir>',
    description: "write a run's resolved pipeline.yaml (same run hash when run) with summary.md and summary.json",
    options: [force('write into a folder that is not empty')],
    run: async (ref, dir, flags) => (await import('./commands/export.js')).exportCommand(ref, dir, flags),
  },
  {
    usage: 'report [ref]',
    description: 'write a self-contained HTML report of a sweep (default: the newest) or of a run',
    options: [
      { flags: '-o, --out <file>', description: 'where to write the page (default: .paramflow/reports/<id>.html)' },
    ],
    run: async (ref, flags) => (await import('./commands/report.js')).reportCommand(ref, flags),
  },
  {
    usage: 'stage new <name>',
    description: 'scaffold a TypeScript stage module (stages/<name>.ts) and its test',
    options: [
      { flags: '--dir <dir>', description: 'folder to write into (default: stages)' },
      force('overwrite existing files'),
    ],
    run: async (name, flags) => (await import('./commands/stage-new.js')).stageNewCommand(name, flags),
  },
  {
    usage: 'init [dir]',
    description: 'set up a paramflow project: .paramflow/, an example pipeline, .gitignore',
    options: [force('overwrite an existing example pipeline')],
    run: async (dir, flags) => (await import('./commands/init.js')).initCommand(dir ?? '.', flags),
  },
  {
    usage: 'worker',
    description:
      'serve a job queue (`run --executor queue`): run its jobs (sweep trials, plain runs) in this project folder until SIGTERM/SIGINT',
    options: [
      { flags: '--concurrency <n>', description: 'jobs at once', parse: wholeNumber('--concurrency', 1), default: 1 },
      redis,
      queue,
    ],
    run: async (flags) => {
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
    options: [redis, queue, json('the status')],
    run: async (flags) => (await import('./commands/queue-status.js')).queueStatusCommand(flags),
  },
  {
    // A sweep's worker process (src/sweep/worker.ts), started by `run`.
    usage: 'sweep-worker',
    description: "serve a local sweep's trials (started by `paramflow run`)",
    hidden: true,
    options: [
      {
        flags: '--root <dir>',
        description: 'the project whose sweep this worker serves (shown by ps)',
        required: true,
      },
    ],
    run: async () => (await import('../sweep/worker.js')).serveTrials(),
  },
  {
    // One trial of a Slurm job array (src/sweep/slurm/task.ts), written into the sbatch script.
    usage: 'slurm-task <dir>',
    description: 'run one task of a Slurm job array (written into the sbatch script)',
    hidden: true,
    run: async (dir) => (await import('../sweep/slurm/task.js')).runSlurmTask(dir),
  },
];
