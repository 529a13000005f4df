import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Layout } from '../project/layout.js';
import { CacheStore } from '../cache/store.js';
import type { LoadedRun } from '../tracking/load-run.js';
import type { Environment, RunRecord, RunStatus, StageStatus } from '../tracking/run-record.js';
import { orderMetrics } from './compare-runs.js';
import { flattenParams } from './flatten-params.js';

/** One run, everything `paramflow show --json` prints (and `export` writes to summary.json). */
export interface RunDescription {
  source: LoadedRun['source'];
  runId: string;
  runHash: string;
  pipeline: RunRecord['pipeline'];
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  overrides: string[];
  noCache: boolean;
  /** `seed` and every stage param as `<stage>.<path>` (the `--set` spelling). */
  params: Record<string, unknown>;
  stages: StageDescription[];
  /** Run-level metrics, the objective and summaries first. */
  metrics: Record<string, number>;
  artifacts: {
    /** Files kept in the run's folder (`.paramflow/runs/<id>/artifacts`), relative to it. */
    run: { path: string; size: number }[];
    /** Each stage's cache files, as recorded, and whether this project's cache still holds them. */
    cache: { stage: string; key: string; file: string; size: number; cached: boolean }[];
  };
  environment: Environment;
  mlflow: { runId: string; experimentId: string | null; url: string | null } | null;
  /** Operations the MLflow server refused for good: missing there. */
  mlflowRefused: number;
  error: RunRecord['error'] | null;
}

export interface StageDescription {
  name: string;
  type: string;
  key: string;
  /** Implementation version of the stage type (part of the key). */
  version: string;
  status: StageStatus;
  reason: string | null;
  durationMs: number | null;
  metrics: Record<string, number>;
}

/** Reads the run's folder and the cache (when they are in this project) to describe a loaded run. */
export async function describeRun(
  loaded: LoadedRun,
  layout: Layout,
  objective = 'cv_rmse_mean',
): Promise<RunDescription> {
  const r = loaded.record;
  const ended = r.endedAt ? Date.parse(r.endedAt) : NaN;
  const started = Date.parse(r.startedAt);
  return {
    source: loaded.source,
    runId: r.runId,
    runHash: r.runHash,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    durationMs: Number.isNaN(ended) || Number.isNaN(started) ? null : ended - started,
    overrides: r.options?.overrides ?? [],
    noCache: r.options?.noCache ?? false,
    params: flattenParams(r),
    stages: Object.entries(r.stages).map(([name, s]) => ({
      name,
      type: s.type,
      key: s.key,
      version: s.details.version,
      status: s.status,
      reason: s.reason ?? null,
      durationMs: s.durationMs ?? null,
      metrics: ordered(s.metrics ?? {}, objective),
    })),
    metrics: ordered(r.metrics, objective),
    artifacts: {
      run: loaded.source === 'local' ? await listFiles(join(layout.run(r.runId), 'artifacts')) : [],
      cache: await cacheFiles(r, new CacheStore(layout)),
    },
    environment: r.environment,
    mlflowRefused: loaded.mlflowRefused ?? 0,
    mlflow: loaded.mlflow
      ? { runId: loaded.mlflow.runId, experimentId: loaded.mlflow.experimentId ?? null, url: loaded.mlflow.url ?? null }
      : null,
    error: r.error ?? null,
  };
}

function ordered(m: Record<string, number>, objective: string): Record<string, number> {
  return Object.fromEntries(orderMetrics(Object.keys(m), objective).map((k) => [k, m[k]!]));
}

async function cacheFiles(r: RunRecord, cache: CacheStore): Promise<RunDescription['artifacts']['cache']> {
  const out: RunDescription['artifacts']['cache'] = [];
  for (const [stage, s] of Object.entries(r.stages)) {
    if (!s.files) continue;
    const cached = (await cache.lookup(s.key)).hit;
    for (const [file, meta] of Object.entries(s.files)) out.push({ stage, key: s.key, file, size: meta.size, cached });
  }
  return out;
}

/** Every file under `dir` (none when it does not exist), sorted, with `/` separators. */
async function listFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const out: { path: string; size: number }[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const abs = join(e.parentPath, e.name);
    out.push({ path: relative(dir, abs).split(sep).join('/'), size: (await stat(abs)).size });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
