import { randomBytes } from 'node:crypto';
import { ApiError, type DoubleStore } from './mlflow-double-store.js';

// The double's MLflow 3 logged models, run inputs/outputs and model registry, as recorded from a
// 3.6 server (test/fixtures/mlflow/transcripts-models.jsonl): a dataset digest over 36
// characters is refused; a dataset is kept once per name and digest, first write wins, and
// once per run; PATCH and the params call need the model id in the body too; a logged model's
// artifacts live under `<experiment>/models/<id>/artifacts`.

export interface DoubleModel {
  model_id: string;
  experiment_id: string;
  name: string;
  artifact_uri: string;
  status: string;
  model_type?: string;
  source_run_id?: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
}

const missing = (name: string) =>
  new ApiError(
    400,
    'INVALID_PARAMETER_VALUE',
    `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
  );

export class DoubleModels {
  readonly models = new Map<string, DoubleModel>();
  /** `name\0digest` → the dataset as first logged. */
  readonly datasets = new Map<string, Record<string, unknown>>();
  readonly inputs = new Map<string, { key: string; tags: unknown[] }[]>();
  readonly outputs = new Map<string, { model_id: string; step: number }[]>();
  /** Logged models a run used as inputs (`runs/log-inputs` with `models`). */
  readonly modelInputs = new Map<string, { model_id: string }[]>();
  readonly registered = new Map<string, { name: string; versions: Record<string, unknown>[] }>();

  constructor(private readonly store: DoubleStore) {}

  /** The answer to `<endpoint>` under /api/2.0/mlflow/, or undefined when it is not one of these. */
  answer(method: string, endpoint: string, body: Record<string, unknown>): unknown {
    if (endpoint === 'runs/log-inputs' && method === 'POST') return this.logInputs(body);
    if (endpoint === 'runs/outputs' && method === 'POST') return this.logOutputs(body);
    if (endpoint === 'logged-models' && method === 'POST') return { model: this.json(this.create(body)) };
    if (endpoint === 'logged-models/search' && method === 'POST') return this.search(body);
    const one = /^logged-models\/([^/]+)$/.exec(endpoint);
    if (one && method === 'GET') return { model: this.json(this.model(decodeURIComponent(one[1]!))) };
    if (one && method === 'PATCH') {
      if (!body.model_id) throw missing('model_id');
      const m = this.model(decodeURIComponent(one[1]!));
      m.status =
        typeof body.status === 'number' ? ['', 'PENDING', 'READY', 'UPLOAD_FAILED'][body.status]! : String(body.status);
      if (!m.status.startsWith('LOGGED_MODEL_')) m.status = `LOGGED_MODEL_${m.status}`;
      m.last_updated_timestamp_ms = Date.now();
      return { model: this.json(m) };
    }
    if (endpoint === 'registered-models/create' && method === 'POST') return this.register(body);
    if (endpoint === 'model-versions/create' && method === 'POST') return this.version(body);
    return undefined;
  }

  /** `inputs` and `outputs` of runs/get. */
  runParts(runId: string): { inputs: Record<string, unknown>; outputs: Record<string, unknown> } {
    const ins = this.inputs.get(runId) ?? [];
    const outs = this.outputs.get(runId) ?? [];
    const models = this.modelInputs.get(runId) ?? [];
    return {
      inputs: {
        ...(ins.length
          ? { dataset_inputs: ins.map((i) => ({ tags: i.tags, dataset: this.datasets.get(i.key) })) }
          : {}),
        ...(models.length ? { model_inputs: models } : {}),
      },
      outputs: outs.length ? { model_outputs: outs } : {},
    };
  }

  private logInputs(body: Record<string, unknown>): unknown {
    const run = this.store.run(String(body.run_id ?? ''));
    const list = this.inputs.get(run.run_id) ?? [];
    for (const d of (body.datasets as { dataset: Record<string, unknown>; tags?: unknown[] }[] | undefined) ?? []) {
      const digest = String(d.dataset.digest ?? '');
      if (digest.length > 36)
        throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "'digest' exceeds the maximum length of 36 characters");
      const key = `${String(d.dataset.name)}\u0000${digest}`;
      if (!this.datasets.has(key)) this.datasets.set(key, { source: '', ...d.dataset });
      if (!list.some((i) => i.key === key)) list.push({ key, tags: d.tags ?? [] });
    }
    this.inputs.set(run.run_id, list);
    for (const m of (body.models as { model_id: string }[] | undefined) ?? []) {
      this.model(m.model_id);
      this.modelInputs.set(run.run_id, [...(this.modelInputs.get(run.run_id) ?? []), { model_id: m.model_id }]);
    }
    return {};
  }

  private logOutputs(body: Record<string, unknown>): unknown {
    const run = this.store.run(String(body.run_id ?? ''));
    const list = this.outputs.get(run.run_id) ?? [];
    for (const m of (body.models as { model_id: string; step?: number }[] | undefined) ?? []) {
      this.model(m.model_id);
      list.push({ model_id: m.model_id, step: m.step ?? 0 });
    }
    this.outputs.set(run.run_id, list);
    return {};
  }

  private create(body: Record<string, unknown>): DoubleModel {
    if (body.experiment_id === undefined) throw missing('experiment_id');
    const exp = this.store.experiment(String(body.experiment_id));
    const id = `m-${randomBytes(16).toString('hex')}`;
    const now = Date.now();
    const m: DoubleModel = {
      model_id: id,
      experiment_id: exp.experiment_id,
      name: typeof body.name === 'string' ? body.name : 'model',
      artifact_uri: `mlflow-artifacts:/${exp.experiment_id}/models/${id}/artifacts`,
      status: 'LOGGED_MODEL_PENDING',
      ...(body.model_type ? { model_type: String(body.model_type) } : {}),
      ...(body.source_run_id ? { source_run_id: String(body.source_run_id) } : {}),
      creation_timestamp_ms: now,
      last_updated_timestamp_ms: now,
    };
    this.models.set(id, m);
    return m;
  }

  private model(id: string): DoubleModel {
    const m = this.models.get(id);
    if (!m) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Logged model with ID '${id}' not found.`);
    return m;
  }

  private search(body: Record<string, unknown>): unknown {
    const ids = body.experiment_ids as string[] | undefined;
    if (!ids) throw missing('experiment_ids');
    const filter = String(body.filter ?? '').trim();
    const byRun = /^source_run_id\s*=\s*'([^']*)'$/.exec(filter);
    if (filter && !byRun)
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `the double only filters on source_run_id`);
    const found = [...this.models.values()].filter(
      (m) => ids.includes(m.experiment_id) && (!byRun || m.source_run_id === byRun[1]),
    );
    return found.length ? { models: found.map((m) => this.json(m)) } : {};
  }

  private register(body: Record<string, unknown>): unknown {
    const name = String(body.name ?? '');
    if (this.registered.has(name))
      throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
    this.registered.set(name, { name, versions: [] });
    return { registered_model: { name, creation_timestamp: Date.now(), last_updated_timestamp: Date.now() } };
  }

  private version(body: Record<string, unknown>): unknown {
    const name = String(body.name ?? '');
    const reg = this.registered.get(name);
    if (!reg) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    const v = {
      name,
      version: String(reg.versions.length + 1),
      source: String(body.source ?? ''),
      ...(body.run_id ? { run_id: String(body.run_id) } : {}),
      status: 'READY',
      current_stage: 'None',
    };
    reg.versions.push({ ...v, model_id: body.model_id });
    return { model_version: v };
  }

  private json(m: DoubleModel): Record<string, unknown> {
    return { info: { ...m } };
  }
}
