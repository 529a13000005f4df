import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BACKENDS, backendProblem, chooseBackend, type BackendChoice } from '../backend/probe.js';
import type { BackendName } from '../stage-contract/types.js';
import { Layout } from '../project/layout.js';
import { checkEntry } from '../cache/maintenance.js';
import { CacheStore } from '../cache/store.js';
import { InputErrors, ParamflowError } from '../util/errors.js';
import { runPipeline } from '../runner/run-pipeline.js';
import type { Reporter } from '../runner/reporter.js';
import { builtinRegistry } from '../stage-contract/registry.js';
import { captureEnvironment } from '../tracking/environment.js';
import type { RunRecord } from '../tracking/run-record.js';
import { cacheFinding, compareStage, type CacheFinding, type StageComparison } from './compare-stage.js';
import {
  compareEnvironments,
  formatTolerance,
  type EnvironmentDifference,
  type EnvironmentFacts,
} from './environment-check.js';
import { loadRecordedRun } from './recorded-run.js';

export const DEFAULT_TOLERANCE = 0.02;

export interface ReproOptions {
  ref: string;
  /** The project root (where `.paramflow/` lives). */
  root: string;
  /** Relative tolerance for metrics of stages computed on another backend (default 2%). */
  tolerance?: number;
  /** Refuse (PF_ENV_MISMATCH, exit 2) when the environment differs from the recorded one. */
  strict?: boolean;
  /** Keep the scratch cache (its path is in the report). */
  keep?: boolean;
  /** `--backend`; default: the recorded one when it loads here. */
  backend?: string;
  jobs?: number;
  reporter?: Reporter;
  signal?: AbortSignal;
  env?: Readonly<Record<string, string | undefined>>;
  /** Told the run and the environment differences before anything runs (the CLI prints them). */
  onPlan?: (
    run: { record: RunRecord; source: 'local' | 'mlflow' },
    differences: EnvironmentDifference[],
    backend: BackendChoice | undefined,
  ) => void;
}

export interface ReproReport {
  runId: string;
  runHash: string;
  /** `mlflow`: the record was downloaded from the MLflow run's artifacts (the local store lacks it). */
  source: 'local' | 'mlflow';
  /** The MLflow run the record was logged to, when known. */
  mlflow: { runId: string; url?: string } | null;
  pipeline: string;
  /** The run hash of the re-planned recorded pipeline. */
  runHashNow: string;
  runHashMatches: boolean;
  backend: { recorded: string | null; now: string | null };
  tolerance: number;
  environment: EnvironmentDifference[];
  stages: StageComparison[];
  /** Stages whose entry in the project's cache no longer matches its recorded digests. */
  cacheCorrupt: string[];
  status: RunRecord['status'];
  reproduced: boolean;
  /** The scratch folder, when kept (`--keep`). */
  scratch: string | null;
  verdict: string;
}

/**
 * Re-executes a recorded run's resolved pipeline into a scratch cache and compares it,
 * stage by stage, with the record. The project's cache and run store are only read.
 */
export async function reproduceRun(options: ReproOptions): Promise<ReproReport> {
  const layout = new Layout(options.root);
  const { record, source, mlflow } = await loadRecordedRun(options.ref, layout, options.env ?? process.env);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const backend = chooseReproBackend(record, options.backend);
  const differences = compareEnvironments(
    recordedFacts(record),
    await currentFacts(record, options.root, backend),
    tolerance,
  );
  options.onPlan?.({ record, source }, differences, backend);
  if (options.strict && differences.length > 0) throw strictMismatch(differences);

  const cache = new CacheStore(layout);
  const findings = new Map<string, CacheFinding>();
  for (const [name, s] of Object.entries(record.stages))
    findings.set(name, cacheFinding(await checkEntry(cache, s.key), s.files));

  const tmpDir = layout.scratchDir;
  await mkdir(tmpDir, { recursive: true });
  const scratch = await mkdtemp(join(tmpDir, `repro-${record.runId}-`));
  try {
    const text = stringify(record.resolved);
    await writeFile(join(scratch, 'pipeline.yaml'), text); // for --keep: what was run
    const summary = await runRecorded(record, text, scratch, backend, options);
    const byMetrics = new Set<string>();
    const stages: StageComparison[] = [];
    for (const [name, recorded] of Object.entries(record.stages)) {
      const c = compareStage({
        stage: name,
        recorded,
        now: summary.stages[name],
        byMetrics,
        tolerance,
        cache: findings.get(name) ?? { state: 'absent' },
      });
      if (c.comparedBy === 'metrics') byMetrics.add(name);
      stages.push(c);
    }
    const cacheCorrupt = stages
      .filter((s) => s.cache.state === 'corrupt' || s.cache.state === 'differs')
      .map((s) => s.stage);
    const reproduced = summary.status === 'FINISHED' && stages.every((s) => s.reproduced);
    const report: ReproReport = {
      runId: record.runId,
      runHash: record.runHash,
      source,
      mlflow: mlflow ? { runId: mlflow.runId, ...(mlflow.url ? { url: mlflow.url } : {}) } : null,
      pipeline: record.pipeline.name,
      runHashNow: summary.runHash,
      runHashMatches: summary.runHash === record.runHash,
      backend: { recorded: record.environment.backend?.name ?? null, now: backend?.name ?? null },
      tolerance,
      environment: differences,
      stages,
      cacheCorrupt,
      status: summary.status === 'PLANNED' ? 'FAILED' : summary.status,
      reproduced,
      scratch: options.keep ? scratch : null,
      verdict: '',
    };
    report.verdict = verdictLine(report);
    return report;
  } finally {
    if (!options.keep) {
      await rm(scratch, { recursive: true, force: true });
      await rmdir(tmpDir).catch(() => undefined); // only if nothing else is in it
    }
  }
}

async function runRecorded(
  record: RunRecord,
  text: string,
  scratch: string,
  backend: BackendChoice | undefined,
  options: ReproOptions,
) {
  try {
    return await runPipeline({
      file: join(options.root, record.pipeline.file),
      source: text,
      stateRoot: scratch,
      tracking: false,
      noCache: true,
      ...(backend ? { backend: backend.name } : {}),
      jobs: options.jobs,
      reporter: options.reporter,
      signal: options.signal,
      env: options.env,
    });
  } catch (err) {
    if (!(err instanceof ParamflowError) || !err.isBadInput) throw err;
    // Their lines and columns are in the recorded pipeline's text, not in a file the user has: name the values instead.
    const all = err instanceof InputErrors ? err.errors : [err];
    const problems = all.map((e) => `    ${e.pointer ? `at ${e.pointer}: ` : ''}${e.message}`).join('\n');
    throw new ParamflowError(
      err.code,
      `the recorded pipeline of run ${record.runId} does not load with this paramflow:\n${problems}`,
      {
        location: { file: '<command line>' },
        hint: 'a stage schema changed since the run; use the paramflow version that made it (see the environment check above)',
        cause: err,
      },
    );
  }
}

/** `--backend`, else the recorded backend when it loads here, else the fastest that loads. */
export function chooseReproBackend(record: RunRecord, requested: string | undefined): BackendChoice | undefined {
  if (requested !== undefined) return chooseBackend(requested);
  // Records written before the environment held the backend still have it in train's key details.
  const recorded = record.environment.backend?.name ?? keyBackend(record);
  if (!recorded) return undefined;
  const problem = backendProblem(recorded);
  if (!problem) return { ...chooseBackend(recorded), reason: 'as recorded' };
  const choice = chooseBackend();
  return { ...choice, reason: `the recorded ${recorded} cannot load here (${problem}); ${choice.reason}` };
}

function keyBackend(record: RunRecord): BackendName | undefined {
  const names = Object.values(record.stages).map((s) => s.details.env.backend);
  return names.find((n): n is BackendName => (BACKENDS as readonly (string | undefined)[]).includes(n));
}

function recordedFacts(record: RunRecord): EnvironmentFacts {
  return {
    environment: record.environment,
    stages: Object.fromEntries(
      Object.entries(record.stages).map(([n, s]) => [n, { type: s.type, version: s.details.version }]),
    ),
  };
}

async function currentFacts(
  record: RunRecord,
  root: string,
  backend: BackendChoice | undefined,
): Promise<EnvironmentFacts> {
  const registry = await builtinRegistry();
  return {
    environment: {
      ...(await captureEnvironment(root)),
      ...(backend ? { backend: { name: backend.name, reason: backend.reason, tfjs: backend.tfjsVersion } } : {}),
    },
    stages: Object.fromEntries(
      Object.entries(record.stages).map(([n, s]) => [
        n,
        { type: s.type, version: registry.has(s.type) ? registry.get(s.type).version : undefined },
      ]),
    ),
  };
}

function strictMismatch(differences: EnvironmentDifference[]): ParamflowError {
  const fixes = differences.flatMap((d) => (d.fix ? [d.fix] : []));
  return new ParamflowError(
    'PF_ENV_MISMATCH',
    `--strict: the environment differs from the recorded run's in ${differences.map((d) => d.subject).join(', ')}`,
    {
      location: { file: '<command line>' },
      hint:
        fixes.length > 0
          ? `match it (${fixes.join('; ')}) or leave out --strict to reproduce anyway`
          : 'leave out --strict to reproduce anyway; every difference is reported',
    },
  );
}

function verdictLine(r: ReproReport): string {
  const n = r.stages.length;
  const same = r.stages.filter((s) => s.verdict === 'bit-identical').length;
  const close = r.stages.filter((s) => s.verdict === 'within-tolerance').length;
  const corrupt =
    r.cacheCorrupt.length > 0
      ? `; cache corrupt at ${r.cacheCorrupt.join(', ')} (\`paramflow cache verify\` removes it)`
      : '';
  if (r.reproduced) {
    const how =
      close > 0
        ? `${same} bit-identical, ${close} within ±${formatTolerance(r.tolerance)}`
        : 'every stage bit-identical';
    return `reproduced: ${n} of ${n} stages (${how})${corrupt}`;
  }
  const bad = r.stages.filter((s) => !s.reproduced).map((s) => `${s.stage} ${s.verdict}`);
  return `NOT reproduced: ${bad.join(', ')}${r.status === 'KILLED' ? ' (interrupted)' : ''}${corrupt}`;
}
