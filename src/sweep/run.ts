import type { RunnablePipeline } from '../pipeline/load.js';
import { dirname, resolve } from 'node:path';
import { ParamflowError } from '../util/errors.js';
import { findProjectRoot } from '../project/root.js';
import { captureEnvironment } from '../tracking/environment.js';
import type { Override } from '../config/spec.js';
import { silentReporter, type Reporter } from '../runner/reporter.js';
import { runPipeline, type RunSummary } from '../runner/run-pipeline.js';
import { chooseExecutor } from './executors/choose.js';
import { loadWithSweep } from './find.js';
import type { SweepRecord } from '../tracking/sweep-record.js';
import type { ElsewhereResult } from './run-elsewhere.js';

export interface RunOptions {
  /** The pipeline file. */
  file: string;
  /** `--set` overrides, located (config/locate-overrides.ts). */
  overrides?: readonly Override[];
  /** `--sweep` values, located; they add to the file's `sweep:`. */
  sweepFlags?: readonly Override[];
  noCache?: boolean;
  dryRun?: boolean;
  jobs?: number;
  backend?: string;
  failFast?: boolean;
  profile?: boolean;
  /** Where runs go: `local` (default; a sweep's trials in worker processes), `slurm` or `queue`. */
  executor?: string;
  /** Progress of a run made here; made only for one (a terminal's progress bars load then). Default: silent. */
  reporter?: () => Reporter | Promise<Reporter>;
  /** Lines about a sweep or a run sent elsewhere. Default: none. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** What `run` did: a sweep, a run here, or a run sent elsewhere (Slurm, a queue). */
export type RunResult =
  | { kind: 'sweep'; sweep: SweepRecord }
  /** `sweepAside`: a dry run of a pipeline with a sweep explains its base run only. */
  | { kind: 'run'; run: RunSummary; sweepAside?: boolean }
  | { kind: 'elsewhere'; outcome: ElsewhereResult };

/**
 * Runs a pipeline file as `paramflow run` does: its sweep when it has one (or `--sweep` makes
 * one), else the run, here or where `executor` sends it. The CLI formats what this returns;
 * nothing here prints but through `reporter` and `log`.
 */
export async function run(o: RunOptions): Promise<RunResult> {
  checkOptions(o);
  const overrides = o.overrides ?? [];
  const log = o.log ?? (() => undefined);
  const signal = o.signal ?? new AbortController().signal;
  const elsewhere = await chooseExecutor(o.executor, { dryRun: o.dryRun, log });
  // Loaded once, here: a pipeline without a sweep runs from this load, and the sweep machinery
  // (workers, execa, stores) loads only for a sweep.
  // The run's git state takes two short processes: started now, they run while the pipeline
  // loads (a cached no-op run is mostly loading). The pipeline's root is where the loader finds it.
  const environment = o.dryRun || elsewhere ? undefined : captureEnvironment(findProjectRoot(dirname(resolve(o.file))));
  environment?.catch(() => undefined); // a sweep does not wait for it: never an unhandled rejection
  let loaded: RunnablePipeline | undefined;
  let sweepAside = false;
  const found = await loadWithSweep(o.file, overrides, o.sweepFlags ?? []);
  loaded = found.base;
  // A dry run explains the base run; that a sweep was left aside is said with it.
  if (o.dryRun) sweepAside = Boolean(found.spec);
  else {
    if (found.spec) {
      const { runSweep } = await import('./run-sweep.js');
      const sweep = await runSweep({
        ...elsewhere,
        file: o.file,
        overrides,
        sweepFlags: o.sweepFlags ?? [],
        found: { base: found.base, spec: found.spec },
        jobs: elsewhere ? (o.jobs ?? Number.MAX_SAFE_INTEGER) : o.jobs,
        noCache: Boolean(o.noCache),
        backend: o.backend,
        failFast: o.failFast,
        signal,
        log,
      });
      if (sweep) return { kind: 'sweep', sweep };
    }
  }
  if (elsewhere?.makeExecutor) {
    // No sweep: the run itself goes, as one job, where the trials would.
    const { runElsewhere } = await import('./run-elsewhere.js');
    const outcome = await runElsewhere({
      makeExecutor: elsewhere.makeExecutor,
      file: o.file,
      overrides,
      noCache: Boolean(o.noCache),
      backend: o.backend,
      signal,
    });
    return { kind: 'elsewhere', outcome };
  }
  const summary = await runPipeline({
    file: o.file,
    ...(loaded ? { loaded } : {}),
    overrides,
    noCache: Boolean(o.noCache),
    dryRun: o.dryRun,
    jobs: o.jobs,
    backend: o.backend,
    profile: Boolean(o.profile),
    reporter: o.reporter ? await o.reporter() : silentReporter,
    signal,
    ...(environment ? { environment } : {}),
  });
  return { kind: 'run', run: summary, ...(sweepAside ? { sweepAside } : {}) };
}

const KNOWN: readonly (keyof RunOptions)[] = [
  'file',
  'overrides',
  'sweepFlags',
  'noCache',
  'dryRun',
  'jobs',
  'backend',
  'failFast',
  'profile',
  'executor',
  'reporter',
  'log',
  'signal',
];

/** A program's misspelt option (`set` for `overrides`) would be ignored silently: refused, naming the known ones. */
function checkOptions(o: RunOptions): void {
  const unknown = Object.keys(o).filter((k) => !(KNOWN as readonly string[]).includes(k));
  if (unknown.length === 0) return;
  throw new ParamflowError(
    'PF_BAD_FLAG',
    `run(): unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`,
    {
      location: { file: '<run() options>' },
      hint: `the options are ${KNOWN.join(', ')}; --set values go in overrides: [{ text: 'simulate.n=300' }]`,
    },
  );
}
