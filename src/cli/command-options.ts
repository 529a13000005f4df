import { collect, wholeNumber, type FlagsOf, type OptionSpec } from './flags.js';
import { parseTolerance } from './parse-tolerance.js';

// Each command's options (the command table gives them to commander and to docs/cli.md), and
// the flags type each command's module receives, derived from them. Options two commands
// share are declared once.

/** `--json`: what it prints, or the listing as JSON. */
const json = (what?: string) =>
  ({ flags: '--json', description: what ? `print ${what} as JSON on stdout` : 'machine-readable output' }) as const;
const set = (description = 'override a value (repeatable)') =>
  ({ flags: '--set <key=value>', description, parse: collect, default: [] as string[] }) as const;
const sweep = (description: string) =>
  ({ flags: '--sweep <key=v1,v2,…>', description, parse: collect, default: [] as string[] }) as const;
const backend = (description: string) => ({ flags: '--backend <name>', description }) as const;
const force = (description: string) => ({ flags: '--force', description }) as const;
const jobs = {
  flags: '-j, --jobs <n>',
  description:
    'independent stages to run at once; in a sweep, trials at once (one worker process each); default: the number of cores',
  parse: wholeNumber('--jobs', 1),
} as const;
const remote = { flags: '--remote <where>', description: 'a shared folder or s3://bucket/prefix' } as const;
const redis = {
  flags: '--redis <url>',
  description: 'the Redis server (default: PARAMFLOW_REDIS_URL, else redis://127.0.0.1:6379)',
} as const;
const queue = { flags: '--queue <name>', description: 'the queue (default: PARAMFLOW_QUEUE, else paramflow)' } as const;
const out = (description: string) => ({ flags: '-o, --out <file>', description }) as const;

export const RUN = [
  set('override a value: <stage>.<param>=v, seed=…, name=…, tracking.<k>=… (repeatable)'),
  { flags: '--no-cache', description: 'execute every stage even when its outputs are cached' },
  { flags: '--dry-run', description: 'show what would run and why; write nothing' },
  jobs,
  backend('TensorFlow.js backend: tfjs-node, native, wasm or cpu (default: the fastest that loads)'),
  sweep("sweep a key over values (grid; repeatable; adds to the file's sweep:)"),
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
] as const satisfies readonly OptionSpec[];
export type RunFlags = FlagsOf<typeof RUN>;

export const VALIDATE = [set(), sweep('sweep a key over values (repeatable)')] as const;
export type ValidateFlags = FlagsOf<typeof VALIDATE>;

export const STATUS = [set(), backend('TensorFlow.js backend whose cache entries to look for'), json()] as const;
export type StatusFlags = FlagsOf<typeof STATUS>;

export const RUNS = [
  json(),
  { flags: '-n, --limit <n>', description: 'show at most n runs', parse: wholeNumber('--limit', 1) },
  { flags: '--pipeline <name>', description: 'only runs of this pipeline' },
  { flags: '--sweep [ref]', description: 'the trials of a sweep (default: the newest), best first' },
  { flags: '--sort <metric>', description: 'with --sweep: sort trials by this metric (default: the objective)' },
  {
    flags: '--all',
    description: 'list cached no-op reruns as runs of their own (folded into the run they repeat by default)',
  },
] as const satisfies readonly OptionSpec[];
export type RunsFlags = FlagsOf<typeof RUNS>;

export const CACHE_LS = [json()] as const;
export type CacheLsFlags = FlagsOf<typeof CACHE_LS>;

export const CACHE_GC = [
  {
    flags: '--keep <n>',
    description: 'keep entries used by the newest n runs',
    parse: wholeNumber('--keep', 0),
    required: true,
  },
  { flags: '--dry-run', description: 'list what would be removed' },
  json('what was removed and kept'),
] as const satisfies readonly OptionSpec[];
export type CacheGcFlags = FlagsOf<typeof CACHE_GC>;

export const CACHE_PUSH = [remote, json('what was pushed')] as const;
export const CACHE_PULL = [remote, json('what was pulled')] as const;
export type CacheRemoteFlags = FlagsOf<typeof CACHE_PUSH> & FlagsOf<typeof CACHE_PULL>;

export const PREDICT = [
  out('write .csv, or .npy (means; spread in <file>.std.npy); default: CSV on stdout'),
  backend("TensorFlow.js backend (default: the run's, if it loads)"),
] as const;
export type PredictFlags = FlagsOf<typeof PREDICT>;

export const REPRO = [
  {
    flags: '--tolerance <rel>',
    description: 'relative tolerance for metrics of stages run on another backend: 0.02 or 2%',
    parse: parseTolerance,
  },
  { flags: '--strict', description: 'refuse to run (exit 2) when the environment differs from the recorded one' },
  { flags: '--keep', description: 'keep the scratch cache for inspection (its path is printed)' },
  backend('TensorFlow.js backend (default: the recorded one, if it loads)'),
  { ...jobs, description: 'independent stages to run at once; default: the number of cores' },
  json('the report'),
] as const satisfies readonly OptionSpec[];
export type ReproFlags = FlagsOf<typeof REPRO>;

export const SYNC = [
  {
    flags: '--show-refused',
    description: 'list the operations the MLflow server refused for good (all runs, or one), with its reasons',
  },
] as const;
export type SyncFlags = FlagsOf<typeof SYNC>;

export const COMPARE = [
  { flags: '--all', description: 'show every param, not only those that differ' },
  json(),
] as const;
export type CompareFlags = FlagsOf<typeof COMPARE>;

export const SHOW = [json()] as const;
export const DIFF = [json()] as const;
export type JsonFlags = FlagsOf<typeof SHOW>;

export const EXPORT = [force('write into a folder that is not empty')] as const;
export const INIT = [force('overwrite an existing example pipeline')] as const;
export type ForceFlags = FlagsOf<typeof EXPORT>;

export const REPORT = [out('where to write the page (default: .paramflow/reports/<id>.html)')] as const;
export type ReportFlags = FlagsOf<typeof REPORT>;

export const STAGE_NEW = [
  { flags: '--dir <dir>', description: 'folder to write into (default: stages)' },
  force('overwrite existing files'),
] as const;
export type StageNewFlags = FlagsOf<typeof STAGE_NEW>;

export const WORKER = [
  { flags: '--concurrency <n>', description: 'jobs at once', parse: wholeNumber('--concurrency', 1), default: 1 },
  redis,
  queue,
] as const satisfies readonly OptionSpec[];

export const QUEUE_STATUS = [redis, queue, json('the status')] as const;
export type QueueStatusFlags = FlagsOf<typeof QUEUE_STATUS>;

export const SWEEP_WORKER = [
  { flags: '--root <dir>', description: 'the project whose sweep this worker serves (shown by ps)', required: true },
] as const;
export type WorkerFlags = FlagsOf<typeof WORKER>;

export const REGISTER = [
  { flags: '--name <name>', description: 'the registered model (created if missing)', required: true },
  json('the new version'),
] as const satisfies readonly OptionSpec[];
export type RegisterFlags = FlagsOf<typeof REGISTER>;
