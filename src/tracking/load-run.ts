import type { Layout } from '../project/layout.js';
import { redactDeep } from '../util/redact.js';
import { ParamflowError } from '../util/errors.js';
import type { Env } from './mlflow/auth.js';
import { clientFromEnv, type MlflowClient } from './mlflow/client.js';
import { downloadRunRecord, fetchMlflowRun } from './mlflow/fetch-run.js';
import type { RetryPolicy } from './mlflow/retry.js';
import { mlflowState } from './mlflow/sync.js';
import { resolveRunRef } from './resolve-ref.js';
import type { RunRecord } from './run-record.js';
import { RunStore } from './run-store.js';

/** A run found by reference: its record, where it came from, and its MLflow run when known. */
export interface LoadedRun {
  record: RunRecord;
  /** `local`: the record is in this project's run store; `mlflow`: downloaded from the run's artifacts. */
  source: 'local' | 'mlflow';
  mlflow?: { runId: string; experimentId?: string; url?: string };
  /** Operations the MLflow server refused for good (local runs; see tracking/mlflow/refused.ts). */
  mlflowRefused?: number;
  /** The resolved pipeline as uploaded to MLflow (`pipeline.yaml`), when it was downloaded. */
  pipelineYaml?: string;
}

export interface LoadRunOptions {
  layout: Layout;
  /** MLFLOW_TRACKING_URI and credentials. */
  env: Env;
  /** Tests: a ready client (not closed here). */
  client?: MlflowClient;
  /** Default READ_RETRY. */
  retry?: Partial<RetryPolicy>;
}

/** A reader waits at a terminal: fewer retries than the tracker's background queue makes. */
export const READ_RETRY: Partial<RetryPolicy> = { retries: 2, baseDelayMs: 300, maxDelayMs: 2000 };

/** `runs:/<id>` (MLflow's own spelling; a path after the id is ignored) always means an MLflow run. */
const FORCED = /^runs:\/+([^/]+)/;
/** MLflow run ids are uuid4 hex: only such a ref is worth asking the server about when nothing local matches. */
const MLFLOW_ID = /^[0-9a-f]{32}$/i;

/**
 * docs/conventions.md, References. `ref` is tried as a local run id, run hash and stage key
 * prefix (resolveRunRef, ambiguity listing the candidates), then as an MLflow run id on
 * MLFLOW_TRACKING_URI; `runs:/<id>` goes to MLflow directly. An MLflow run whose paramflow
 * run is in the local store is read locally; otherwise its run.json artifact is downloaded.
 */
export async function loadRun(ref: string, o: LoadRunOptions): Promise<LoadedRun> {
  const store = new RunStore(o.layout);
  const forced = FORCED.exec(ref)?.[1];
  if (forced === undefined) {
    const runs = await store.list();
    const mlflowNext = MLFLOW_ID.test(ref) && !matchesLocally(ref, runs);
    if (!mlflowNext) return local(resolveRunRef(ref, runs), o.layout);
    if (!o.env.MLFLOW_TRACKING_URI) {
      throw new ParamflowError(
        'PF_BAD_REF',
        `no run id, run hash or stage key starts with \`${ref}\`, and no MLflow server is set to look for an MLflow run with that id`,
        {
          location: { file: '<command line>' },
          hint: 'set MLFLOW_TRACKING_URI to the server the run was logged to; `paramflow runs` lists the local runs',
        },
      );
    }
  }
  return loadFromMlflow(forced ?? ref, store, o);
}

async function loadFromMlflow(id: string, store: RunStore, o: LoadRunOptions): Promise<LoadedRun> {
  const uri = o.env.MLFLOW_TRACKING_URI;
  if (!uri) {
    throw new ParamflowError('PF_BAD_REF', `\`${id}\` names an MLflow run, and no MLflow server is set`, {
      location: { file: '<command line>' },
      hint: 'set MLFLOW_TRACKING_URI to the server the run was logged to (e.g. http://127.0.0.1:5000)',
    });
  }
  const client = clientFromEnv(o.env, uri, { client: o.client, retry: o.retry ?? READ_RETRY, timeoutMs: 15_000 });
  try {
    const fetched = await fetchMlflowRun(client, id, uri);
    const mlflow = fetched.ref;
    const local = await store.read(fetched.paramflowRunId).catch(() => undefined);
    if (local) return { record: local, source: 'local', mlflow };
    const { record, pipelineYaml } = await downloadRunRecord(client, fetched);
    // Redacted like a local record: it may come from a paramflow that stored credentials.
    return {
      record: redactDeep(record),
      source: 'mlflow',
      mlflow,
      ...(pipelineYaml !== undefined ? { pipelineYaml } : {}),
    };
  } finally {
    if (!o.client) await client.close();
  }
}

/** A local run, with the MLflow run it was logged to as its sync state recorded it (no network). */
async function local(record: RunRecord, layout: Layout): Promise<LoadedRun> {
  const s = await mlflowState(layout, { kind: 'run', id: record.runId });
  const refused = s.rejected > 0 ? { mlflowRefused: s.rejected } : {};
  if (!s.mlflowRunId) return { record, source: 'local', ...refused };
  return {
    record,
    source: 'local',
    ...refused,
    mlflow: {
      runId: s.mlflowRunId,
      ...(s.experimentId ? { experimentId: s.experimentId } : {}),
      ...(s.url ? { url: s.url } : {}),
    },
  };
}

function matchesLocally(ref: string, runs: readonly RunRecord[]): boolean {
  return runs.some(
    (r) =>
      r.runId.startsWith(ref) ||
      r.runHash.startsWith(ref) ||
      Object.values(r.stages).some((s) => s.key.startsWith(ref)),
  );
}
