import type { CallOptions, MlflowClient } from './client.js';
import { MlflowError } from './errors.js';
import type { KeyValue } from './types.js';

// MLflow 3's logged models, run outputs and dataset inputs (recorded from a 3.6 server:
// test/fixtures/mlflow/transcripts-models.jsonl). A server without logged models (before
// MLflow 3) answers their routes with a 404 HTML page: `isMissingRoute` tells it from a
// missing model.

const API = '/api/2.0/mlflow';

export interface LoggedModelInfo {
  model_id: string;
  experiment_id: string;
  name: string;
  artifact_uri: string;
  status: string;
  source_run_id?: string;
}

/** A dataset as `runs/log-inputs` takes it (MLflow keeps one per name and digest: the first one logged). */
export interface DatasetInput {
  name: string;
  /** At most 36 characters (longer is refused). */
  digest: string;
  source_type: string;
  /** JSON text. */
  source: string;
  /** JSON text. */
  schema?: string;
  /** JSON text. */
  profile?: string;
}

/** 36: what MLflow stores of a dataset digest (a longer one is refused, 400). */
export const MAX_DIGEST_LENGTH = 36;

const post = <T>(c: MlflowClient, endpoint: string, json: unknown, o?: CallOptions) =>
  c.http.send<T>({ method: 'POST', path: `${API}/${endpoint}`, json, ...o });

export async function createLoggedModel(
  c: MlflowClient,
  input: { experimentId: string; name: string; sourceRunId: string; modelType?: string; tags?: KeyValue[] },
  o?: CallOptions,
): Promise<LoggedModelInfo> {
  const body = {
    experiment_id: input.experimentId,
    name: input.name,
    source_run_id: input.sourceRunId,
    ...(input.modelType ? { model_type: input.modelType } : {}),
    ...(input.tags?.length ? { tags: input.tags } : {}),
  };
  return (await post<{ model: { info: LoggedModelInfo } }>(c, 'logged-models', body, o)).model.info;
}

export async function finalizeLoggedModel(c: MlflowClient, modelId: string, o?: CallOptions): Promise<void> {
  // The id goes in the body too: the server refuses the PATCH without it (400).
  await c.http.send({
    method: 'PATCH',
    path: `${API}/logged-models/${encodeURIComponent(modelId)}`,
    json: { model_id: modelId, status: 'LOGGED_MODEL_READY' },
    ...o,
  });
}

/** The run's logged models named `name` (filtered here: `AND` filters fail on some servers' SQL parser). */
export async function findLoggedModels(
  c: MlflowClient,
  experimentId: string,
  sourceRunId: string,
  name: string,
  o?: CallOptions,
): Promise<LoggedModelInfo[]> {
  const r = await post<{ models?: { info: LoggedModelInfo }[] }>(
    c,
    'logged-models/search',
    { experiment_ids: [experimentId], filter: `source_run_id = '${sourceRunId}'`, max_results: 100 },
    o,
  );
  return (r.models ?? []).map((m) => m.info).filter((m) => m.name === name);
}

/** Links a logged model to the run as its output (`runs/outputs`; the UI's Models column). */
export async function logModelOutput(c: MlflowClient, runId: string, modelId: string, o?: CallOptions): Promise<void> {
  await post(c, 'runs/outputs', { run_id: runId, models: [{ model_id: modelId, step: 0 }] }, o);
}

export async function logInputs(
  c: MlflowClient,
  runId: string,
  datasets: readonly { dataset: DatasetInput; tags: KeyValue[] }[],
  o?: CallOptions,
): Promise<void> {
  await post(c, 'runs/log-inputs', { run_id: runId, datasets }, o);
}

/** A 404 with no MLflow error code: the route does not exist on this server (an HTML page), not a missing object. */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof MlflowError && err.status === 404 && err.errorCode === undefined;
}

export async function ensureRegisteredModel(c: MlflowClient, name: string, o?: CallOptions): Promise<void> {
  try {
    await post(c, 'registered-models/create', { name }, o);
  } catch (err) {
    if (!(err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
  }
}

export async function createModelVersion(
  c: MlflowClient,
  input: { name: string; modelId: string; runId: string },
  o?: CallOptions,
): Promise<{ version: string }> {
  const body = { name: input.name, source: `models:/${input.modelId}`, run_id: input.runId, model_id: input.modelId };
  return (await post<{ model_version: { version: string } }>(c, 'model-versions/create', body, o)).model_version;
}
