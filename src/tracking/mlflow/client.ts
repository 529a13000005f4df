import { authFromEnv, type Env } from './auth.js';
import { isMlflowError, MlflowError } from './errors.js';
import { proxyPath } from './artifact-uri.js';
import type { Clock, RetryPolicy } from './retry.js';
import { parseTrackingUri, splitTrackingUri } from './uri.js';
import { HttpTransport, type TransportOptions } from './http.js';
import type {
  BatchBody,
  Experiment,
  FileInfo,
  KeyValue,
  Metric,
  MlflowRunStatus,
  Page,
  Run,
  RunInfo,
} from './types.js';

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
/** What MLflow's Python client sends: without max_results, 3.4–3.12 return no metrics (mlflow#23916). */
export const HISTORY_PAGE_SIZE = 25_000;

export interface CallOptions {
  /** false: one attempt, no retry (see HttpRequest.retry). */
  retry?: boolean;
  deadline?: number;
  signal?: AbortSignal;
}

export interface CreateRunInput {
  experimentId: string;
  runName?: string;
  startTime: number;
  tags?: KeyValue[];
  userId?: string;
}

export interface SearchRunsInput {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

// A typed wrapper over MLflow's REST API 2.0 (the subset paramflow uses), on one
// keep-alive connection pool. Every method throws MlflowError on failure.
/** The client for `uri` with credentials from `env`; throws bad input for non-http URIs. */
export function clientFromEnv(
  env: Env,
  uri: string,
  o: { client?: MlflowClient; timeoutMs?: number; retry?: Partial<RetryPolicy>; clock?: Clock },
): MlflowClient {
  return (
    o.client ??
    new MlflowClient({
      uri,
      auth: authFromEnv(env, splitTrackingUri(parseTrackingUri(uri))),
      timeoutMs: o.timeoutMs,
      retry: o.retry,
      clock: o.clock,
    })
  );
}

export class MlflowClient {
  readonly http: HttpTransport;

  constructor(options: TransportOptions) {
    this.http = new HttpTransport(options);
  }

  /** The server's address without credentials. */
  get server(): string {
    return this.http.server;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  destroy(): Promise<void> {
    return this.http.destroy();
  }

  // ---- experiments
  async createExperiment(name: string, tags: KeyValue[] = [], o?: CallOptions): Promise<string> {
    const r = await this.post<{ experiment_id: string }>(
      'experiments/create',
      { name, ...(tags.length ? { tags } : {}) },
      o,
    );
    return r.experiment_id;
  }

  async getExperiment(experimentId: string, o?: CallOptions): Promise<Experiment> {
    return (await this.get<{ experiment: Experiment }>('experiments/get', { experiment_id: experimentId }, o))
      .experiment;
  }

  /** undefined when no experiment has that name. */
  async getExperimentByName(name: string, o?: CallOptions): Promise<Experiment | undefined> {
    try {
      return (await this.get<{ experiment: Experiment }>('experiments/get-by-name', { experiment_name: name }, o))
        .experiment;
    } catch (err) {
      if (isMlflowError(err, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw err;
    }
  }

  async searchExperiments(
    input: { filter?: string; maxResults?: number; pageToken?: string } = {},
    o?: CallOptions,
  ): Promise<Page<Experiment>> {
    const r = await this.post<{ experiments?: Experiment[]; next_page_token?: string }>(
      'experiments/search',
      {
        max_results: input.maxResults ?? 1000,
        ...(input.filter ? { filter: input.filter } : {}),
        ...(input.pageToken ? { page_token: input.pageToken } : {}),
      },
      o,
    );
    return { items: r.experiments ?? [], ...(r.next_page_token ? { nextPageToken: r.next_page_token } : {}) };
  }

  /**
   * The experiment with this name, created when missing. Safe when another process creates
   * it at the same moment: RESOURCE_ALREADY_EXISTS means someone else won, so read it again.
   */
  async ensureExperiment(name: string, o?: CallOptions): Promise<Experiment> {
    const found = await this.getExperimentByName(name, o);
    if (found) return checkActive(found);
    try {
      const id = await this.createExperiment(name, [], o);
      return await this.getExperiment(id, o);
    } catch (err) {
      if (!isMlflowError(err, 'RESOURCE_ALREADY_EXISTS')) throw err;
      const again = await this.getExperimentByName(name, o);
      if (!again) throw err;
      return checkActive(again);
    }
  }

  // ---- runs
  async createRun(input: CreateRunInput, o?: CallOptions): Promise<Run> {
    const body = {
      experiment_id: input.experimentId,
      start_time: input.startTime,
      ...(input.runName ? { run_name: input.runName } : {}),
      ...(input.userId ? { user_id: input.userId } : {}),
      ...(input.tags?.length ? { tags: input.tags } : {}),
    };
    return (await this.post<{ run: Run }>('runs/create', body, o)).run;
  }

  async getRun(runId: string, o?: CallOptions): Promise<Run> {
    return (await this.get<{ run: Run }>('runs/get', { run_id: runId }, o)).run;
  }

  async updateRun(
    runId: string,
    input: { status?: MlflowRunStatus; endTime?: number; runName?: string },
    o?: CallOptions,
  ): Promise<RunInfo> {
    const body = {
      run_id: runId,
      ...(input.status ? { status: input.status } : {}),
      ...(input.endTime !== undefined ? { end_time: input.endTime } : {}),
      ...(input.runName ? { run_name: input.runName } : {}),
    };
    return (await this.post<{ run_info: RunInfo }>('runs/update', body, o)).run_info;
  }

  async searchRuns(input: SearchRunsInput, o?: CallOptions): Promise<Page<Run>> {
    const body = {
      experiment_ids: input.experimentIds,
      max_results: input.maxResults ?? 1000,
      ...(input.filter ? { filter: input.filter } : {}),
      ...(input.orderBy ? { order_by: input.orderBy } : {}),
      ...(input.pageToken ? { page_token: input.pageToken } : {}),
    };
    const r = await this.post<{ runs?: Run[]; next_page_token?: string }>('runs/search', body, o);
    return { items: r.runs ?? [], ...(r.next_page_token ? { nextPageToken: r.next_page_token } : {}) };
  }

  async setTag(runId: string, key: string, value: string, o?: CallOptions): Promise<void> {
    await this.post('runs/set-tag', { run_id: runId, key, value }, o);
  }

  /** One request: split payloads with `splitBatch` first (MLflow rejects over-limit batches). */
  async logBatch(runId: string, batch: Partial<BatchBody>, o?: CallOptions): Promise<void> {
    const body = {
      run_id: runId,
      ...(batch.metrics?.length ? { metrics: batch.metrics } : {}),
      ...(batch.params?.length ? { params: batch.params } : {}),
      ...(batch.tags?.length ? { tags: batch.tags } : {}),
    };
    await this.post('runs/log-batch', body, o);
  }

  async deleteRun(runId: string, o?: CallOptions): Promise<void> {
    await this.post('runs/delete', { run_id: runId }, o);
  }

  // ---- metrics
  /** Every point of one metric, all pages (always with max_results: see HISTORY_PAGE_SIZE). */
  async getMetricHistory(runId: string, key: string, o?: CallOptions & { pageSize?: number }): Promise<Metric[]> {
    const out: Metric[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    for (;;) {
      const query: Record<string, string> = {
        run_id: runId,
        metric_key: key,
        max_results: String(o?.pageSize ?? HISTORY_PAGE_SIZE),
      };
      if (token) query.page_token = token;
      const r = await this.get<{ metrics?: Metric[]; next_page_token?: string }>('metrics/get-history', query, o);
      out.push(...(r.metrics ?? []));
      token = r.next_page_token;
      // A token that does not advance (mlflow#23916) would loop for ever.
      if (!token || seen.has(token) || (r.metrics ?? []).length === 0) return out;
      seen.add(token);
    }
  }

  // ---- artifacts (through the server's proxy, `mlflow-artifacts:` roots)
  async uploadArtifact(
    artifactUri: string,
    path: string,
    body: Uint8Array | string,
    contentType: string,
    o?: CallOptions,
  ): Promise<void> {
    await this.http.send({
      method: 'PUT',
      path: `${ARTIFACTS}/${proxyPath(artifactUri, path)}`,
      body,
      contentType,
      ...o,
    });
  }

  async downloadArtifact(artifactUri: string, path: string, o?: CallOptions): Promise<Buffer> {
    return this.http.send<Buffer>({
      method: 'GET',
      path: `${ARTIFACTS}/${proxyPath(artifactUri, path)}`,
      bytes: true,
      ...o,
    });
  }

  /** Files directly under `path` of the run's artifacts (the tracking API's view). */
  async listArtifacts(runId: string, path?: string, o?: CallOptions): Promise<FileInfo[]> {
    const r = await this.get<{ files?: FileInfo[] }>('artifacts/list', { run_id: runId, ...(path ? { path } : {}) }, o);
    return r.files ?? [];
  }

  /** Files directly under `path` as the artifact proxy lists them (paths relative to `path`). */
  async listProxyArtifacts(artifactUri: string, path = '', o?: CallOptions): Promise<FileInfo[]> {
    const where = proxyPath(artifactUri, path).replace(/\/$/, '');
    const r = await this.http.send<{ files?: FileInfo[] }>({
      method: 'GET',
      path: `${ARTIFACTS}?path=${encodeURIComponent(where)}`,
      ...o,
    });
    return r.files ?? [];
  }

  private get<T>(endpoint: string, query: Record<string, string>, o?: CallOptions): Promise<T> {
    const qs = new URLSearchParams(query).toString();
    return this.http.send<T>({ method: 'GET', path: `${API}/${endpoint}?${qs}`, ...o });
  }

  private post<T>(endpoint: string, json: unknown, o?: CallOptions): Promise<T> {
    return this.http.send<T>({ method: 'POST', path: `${API}/${endpoint}`, json, ...o });
  }
}

function checkActive(e: Experiment): Experiment {
  if (e.lifecycle_stage === 'deleted') {
    throw new MlflowError(`MLflow experiment \`${e.name}\` (id ${e.experiment_id}) is deleted`, {
      kind: 'status',
      endpoint: 'GET experiments/get-by-name',
      status: 400,
      errorCode: 'INVALID_STATE',
      hint: 'restore it in the MLflow UI (or `mlflow experiments restore`), or log to another one with MLFLOW_EXPERIMENT_NAME',
    });
  }
  return e;
}
