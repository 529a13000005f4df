import { DoubleModels } from './mlflow-double-models.js';
import { randomBytes } from 'node:crypto';

// The in-memory state and JSON API of the MLflow test double, enforcing what the recorded
// transcripts (test/fixtures/mlflow) show a real 3.6 server doing. See mlflow-double.ts.

export interface KV {
  key: string;
  value: string;
}
export interface Point {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}
export interface DoubleRun {
  run_id: string;
  experiment_id: string;
  run_name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time?: number;
  lifecycle_stage: 'active' | 'deleted';
  params: Map<string, string>;
  tags: Map<string, string>;
  /** Every point logged, duplicates kept (as the real server does). */
  metrics: Point[];
}
export interface DoubleExperiment {
  experiment_id: string;
  name: string;
  lifecycle_stage: 'active' | 'deleted';
  creation_time: number;
  tags: KV[];
}

export interface Answer {
  status: number;
  json?: unknown;
  html?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const KEY_RE = /^[/\w.\- :]*$/u;
const NAMES_MSG =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).';
const invalid = (message: string) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);
const missing = (message: string) => new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', message);

export class DoubleStore {
  readonly experiments = new Map<string, DoubleExperiment>();
  readonly runs = new Map<string, DoubleRun>();
  readonly artifacts = new Map<string, Buffer>();
  readonly models = new DoubleModels(this);
  private nextExperiment = 1;
  private names = ['magnificent-cat', 'enthused-slug', 'brave-owl'];

  constructor() {
    this.experiments.set('0', {
      experiment_id: '0',
      name: 'Default',
      lifecycle_stage: 'active',
      creation_time: 0,
      tags: [],
    });
  }

  createExperiment(body: Record<string, unknown>): Answer {
    const name = body.name;
    if (typeof name !== 'string' || name === '')
      throw invalid(
        "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
      );
    if ([...this.experiments.values()].some((e) => e.name === name)) {
      throw new ApiError(
        400,
        'RESOURCE_ALREADY_EXISTS',
        `Experiment(name=${name}) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: experiments.workspace, experiments.name`,
      );
    }
    const id = String(this.nextExperiment++);
    this.experiments.set(id, {
      experiment_id: id,
      name,
      lifecycle_stage: 'active',
      creation_time: Date.now(),
      tags: (body.tags as KV[] | undefined) ?? [],
    });
    return { status: 200, json: { experiment_id: id } };
  }

  experiment(id: string): DoubleExperiment {
    const e = this.experiments.get(id);
    if (!e) throw missing(`No Experiment with id=${id} exists`);
    return e;
  }

  experimentByName(name: string): DoubleExperiment {
    const e = [...this.experiments.values()].find((x) => x.name === name);
    if (!e) throw missing(`Could not find experiment with name '${name}'`);
    return e;
  }

  createRun(body: Record<string, unknown>): DoubleRun {
    const exp = this.experiment(String(body.experiment_id ?? ''));
    if (exp.lifecycle_stage !== 'active')
      throw invalid(`The experiment ${exp.experiment_id} must be in the 'active' state.`);
    const tags = new Map<string, string>(((body.tags as KV[] | undefined) ?? []).map((t) => [t.key, t.value]));
    const name =
      (body.run_name as string | undefined) ??
      tags.get('mlflow.runName') ??
      `${this.names[this.runs.size % 3]}-${100 + this.runs.size}`;
    tags.set('mlflow.runName', name);
    const run: DoubleRun = {
      run_id: randomBytes(16).toString('hex'),
      experiment_id: exp.experiment_id,
      run_name: name,
      user_id: (body.user_id as string | undefined) ?? '',
      status: 'RUNNING',
      start_time: Number(body.start_time ?? Date.now()),
      lifecycle_stage: 'active',
      params: new Map(),
      tags,
      metrics: [],
    };
    this.runs.set(run.run_id, run);
    return run;
  }

  run(id: string): DoubleRun {
    const r = this.runs.get(id);
    if (!r) throw missing(`Run with id=${id} not found`);
    return r;
  }

  activeRun(id: string): DoubleRun {
    const r = this.run(id);
    if (r.lifecycle_stage !== 'active')
      throw invalid(`The run ${id} must be in the 'active' state. Current state is deleted.`);
    return r;
  }

  logBatch(body: Record<string, unknown>, bytes: number): void {
    const metrics = (body.metrics as Record<string, unknown>[] | undefined) ?? [];
    const params = (body.params as KV[] | undefined) ?? [];
    const tags = (body.tags as KV[] | undefined) ?? [];
    limit('metrics', 1000, metrics.length);
    limit('params', 100, params.length);
    limit('tags', 100, tags.length);
    limit('metrics, params, and tags', 1000, metrics.length + params.length + tags.length);
    if (bytes > 1_000_000)
      throw invalid(`Batched logging API requests must be at most 1000000 bytes, got a request of size ${bytes}.`);
    const run = this.activeRun(String(body.run_id ?? ''));
    const points = metrics.map((m, i) => toPoint(m, `metrics[${i}]`));
    params.forEach((p, i) => checkName(p.key, `params[${i}].key`));
    tags.forEach((t, i) => checkName(t.key, `tags[${i}].key`));
    const seen = new Set<string>();
    for (const p of params) {
      if (seen.has(p.key)) throw invalid(`Duplicate parameter keys have been submitted: ['${p.key}'].`);
      seen.add(p.key);
    }
    const changed = params.filter(
      (p) => run.params.has(p.key) && run.params.get(p.key) !== String(p.value).slice(0, 6000),
    );
    if (changed.length > 0) {
      const what = changed
        .map((p) => `{'key': '${p.key}', 'old_value': '${run.params.get(p.key)}', 'new_value': '${p.value}'}`)
        .join(', ');
      throw invalid(
        `Changing param values is not allowed. Params were already logged='[${what}]' for run ID='${run.run_id}'.`,
      );
    }
    for (const p of params) run.params.set(p.key, String(p.value).slice(0, 6000));
    for (const t of tags) run.tags.set(t.key, String(t.value).slice(0, 8000));
    run.metrics.push(...points);
  }

  logParam(body: Record<string, unknown>): void {
    const run = this.activeRun(String(body.run_id ?? ''));
    const key = String(body.key ?? '');
    checkName(key, 'key');
    const value = String(body.value ?? '').slice(0, 6000);
    if (run.params.has(key) && run.params.get(key) !== value) {
      throw invalid(
        `Changing param values is not allowed. Param with key='${key}' was already logged with value='${run.params.get(key)}' for run ID='${run.run_id}'. Attempted logging new value '${value}'.`,
      );
    }
    run.params.set(key, value);
  }

  logMetric(body: Record<string, unknown>): void {
    const run = this.activeRun(String(body.run_id ?? ''));
    run.metrics.push(toPoint(body, ''));
  }

  setTag(body: Record<string, unknown>): void {
    const run = this.activeRun(String(body.run_id ?? ''));
    checkName(String(body.key ?? ''), 'key');
    run.tags.set(String(body.key), String(body.value ?? '').slice(0, 8000));
  }

  /** get-history as 3.6 answers it, bug included: without max_results, no metrics (mlflow#23916). */
  history(q: URLSearchParams): Record<string, unknown> {
    const run = this.runs.get(q.get('run_id') ?? '');
    const max = q.get('max_results');
    if (max === null) return { next_page_token: Buffer.from('{"offset": 0}').toString('base64') };
    const all = run ? run.metrics.filter((m) => m.key === q.get('metric_key')) : [];
    const token = q.get('page_token');
    const offset = token ? (JSON.parse(Buffer.from(token, 'base64').toString()) as { offset: number }).offset : 0;
    const page = all.slice(offset, offset + Number(max));
    const next =
      offset + page.length < all.length
        ? { next_page_token: Buffer.from(`{"offset": ${offset + page.length}}`).toString('base64') }
        : {};
    return page.length ? { metrics: page.map(jsonPoint), ...next } : {};
  }

  /** The latest value of each metric (largest step, then timestamp), as runs/get shows. */
  runJson(r: DoubleRun): Record<string, unknown> {
    const latest = new Map<string, Point>();
    for (const m of r.metrics) {
      const cur = latest.get(m.key);
      if (!cur || m.step > cur.step || (m.step === cur.step && m.timestamp >= cur.timestamp)) latest.set(m.key, m);
    }
    const data: Record<string, unknown> = {};
    if (latest.size) data.metrics = [...latest.values()].map(jsonPoint);
    if (r.params.size) data.params = [...r.params].map(([key, value]) => ({ key, value }));
    if (r.tags.size) data.tags = [...r.tags].map(([key, value]) => ({ key, value }));
    return { info: infoJson(r), data, ...this.models.runParts(r.run_id) };
  }
}

export function infoJson(r: DoubleRun): Record<string, unknown> {
  return {
    run_uuid: r.run_id,
    experiment_id: r.experiment_id,
    run_name: r.run_name,
    user_id: r.user_id,
    status: r.status,
    start_time: r.start_time,
    ...(r.end_time !== undefined ? { end_time: r.end_time } : {}),
    artifact_uri: `mlflow-artifacts:/${r.experiment_id}/${r.run_id}/artifacts`,
    lifecycle_stage: r.lifecycle_stage,
    run_id: r.run_id,
  };
}

export function experimentJson(e: DoubleExperiment): Record<string, unknown> {
  return {
    experiment_id: e.experiment_id,
    name: e.name,
    artifact_location: `mlflow-artifacts:/${e.experiment_id}`,
    lifecycle_stage: e.lifecycle_stage,
    last_update_time: e.creation_time,
    creation_time: e.creation_time,
    ...(e.tags.length ? { tags: e.tags } : {}),
  };
}

function limit(what: string, max: number, got: number): void {
  if (got > max)
    throw invalid(
      `A batch logging request can contain at most ${max} ${what}. Got ${got} ${what}. Please split up ${what} across multiple requests and try again.`,
    );
}

export function checkName(name: string, path: string): void {
  if (!KEY_RE.test(name))
    throw invalid(`Invalid value ${JSON.stringify(name)} for parameter '${path}' supplied: ${NAMES_MSG}`);
  if (name.length > 250) throw invalid(`'${path}' exceeds the maximum length of 250 characters`);
}

function toPoint(m: Record<string, unknown>, path: string): Point {
  const at = (f: string) => (path ? `${path}.${f}` : f);
  if (m.key === undefined) throw invalid(`Missing value for required parameter '${at('key')}'.`);
  checkName(String(m.key), at('name'));
  if (m.value === undefined || m.value === null)
    throw invalid(`Missing value for required parameter '${at('value')}'.`);
  if (m.timestamp === undefined)
    throw invalid(
      `Missing value for required parameter '${at('timestamp')}'. See the API docs for more information about request parameters.`,
    );
  const value = typeof m.value === 'number' ? m.value : Number(m.value);
  if (typeof m.value !== 'number' && (typeof m.value !== 'string' || (Number.isNaN(value) && m.value !== 'NaN'))) {
    throw invalid(
      `Invalid value ${JSON.stringify(m.value)} for parameter '${at('value')}' supplied:  Hint: Value was of type '${typeof m.value === 'string' ? 'str' : typeof m.value}'.`,
    );
  }
  return { key: String(m.key), value, timestamp: Number(m.timestamp), step: Number(m.step ?? 0) };
}

function jsonPoint(m: Point): Record<string, unknown> {
  return {
    key: m.key,
    value: Number.isFinite(m.value) ? m.value : String(m.value),
    timestamp: m.timestamp,
    step: m.step,
  };
}
