import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { matchesFilter, parseFilter, sortRuns } from './mlflow-double-search.js';
import { ApiError, DoubleStore, experimentJson, infoJson, type Answer } from './mlflow-double-store.js';

// A test double of an MLflow 3.6 tracking server (node:http on 127.0.0.1, in memory),
// built from the recorded transcripts in test/fixtures/mlflow and checked against them
// (contract.test.ts). It fails on demand: down, an HTTP status (429 with Retry-After, 5xx,
// HTML pages), slow answers, or a request applied and its answer lost.

export type Fault =
  | {
      kind: 'status';
      status: number;
      times?: number;
      match?: string;
      retryAfter?: string;
      html?: boolean;
      body?: string;
      errorCode?: string;
    }
  | { kind: 'slow'; delayMs: number; times?: number; match?: string }
  /** Holds matching requests until `count` of them arrived, then answers them all: forces a race. */
  | { kind: 'barrier'; count: number; match?: string; times?: number }
  /** The request is applied, then the connection is cut before the answer (`body`: only requests whose body has it). */
  | { kind: 'drop-after'; times?: number; match?: string; body?: string };

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body: string;
}

const HTML_PAGE = (status: number, title: string, text: string) =>
  `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n<h1>${title}</h1>\n<p>${text}</p>\n`;
const PAGES: Record<number, [string, string]> = {
  404: [
    'Not Found',
    'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
  ],
  405: ['Method Not Allowed', 'The method is not allowed for the requested URL.'],
  500: [
    'Internal Server Error',
    'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
  ],
  502: ['Bad Gateway', 'The proxy server received an invalid response from an upstream server.'],
  503: ['Service Unavailable', 'The server is temporarily unable to service your request.'],
};

const ROUTES: Record<string, 'GET' | 'POST'> = {
  'experiments/create': 'POST',
  'experiments/get': 'GET',
  'experiments/get-by-name': 'GET',
  'experiments/search': 'POST',
  'runs/create': 'POST',
  'runs/get': 'GET',
  'runs/update': 'POST',
  'runs/search': 'POST',
  'runs/set-tag': 'POST',
  'runs/log-batch': 'POST',
  'runs/log-parameter': 'POST',
  'runs/log-metric': 'POST',
  'runs/delete': 'POST',
  'metrics/get-history': 'GET',
  'artifacts/list': 'GET',
};

// MLflow 3's logged models, run inputs and outputs, and the registry (mlflow-double-models.ts).
const MODEL_ROUTES =
  /^(logged-models(\/.*)?|runs\/log-inputs|runs\/outputs|registered-models\/create|model-versions\/create)$/;

export class MlflowDouble {
  store = new DoubleStore();
  readonly requests: RecordedRequest[] = [];
  /** When set, requests without this exact Authorization header get 401. */
  requireAuthorization?: string;
  /** Answer as a server before MLflow 3 does: no logged-model routes. */
  withoutLoggedModels = false;
  private faults: Fault[] = [];
  private waiting: (() => void)[] = [];
  private server?: Server;
  private sockets = new Set<Socket>();
  private port = 0;

  static async start(): Promise<MlflowDouble> {
    const d = new MlflowDouble();
    await d.up();
    return d;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens (again, on the same port after `down`). */
  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and cuts every connection: clients get "connection refused". */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  fault(f: Fault): void {
    this.faults.push({ times: 1, ...f } as Fault);
  }

  /** Faults not triggered yet. */
  get faultsLeft(): number {
    return this.faults.length;
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests to one endpoint (`runs/log-batch`), in order. */
  calls(endpoint: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.split('?')[0]!.endsWith(endpoint));
  }

  /** The whole state, deterministic: for "a second sync changes nothing". */
  snapshot(): unknown {
    const runs = [...this.store.runs.values()].map((r) => ({
      ...infoJson(r),
      params: [...r.params].sort(),
      tags: [...r.tags].sort(),
      metrics: r.metrics.map((m) => [m.key, m.step, m.timestamp, m.value]),
    }));
    return {
      experiments: [...this.store.experiments.values()],
      runs,
      artifacts: [...this.store.artifacts].map(([k, v]) => [k, v.toString('base64')]).sort(),
    };
  }

  private takeFault(path: string, kind?: Fault['kind'], body = ''): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        (!kind || f.kind === kind) &&
        (!f.match || path.includes(f.match)) &&
        ((f.kind !== 'drop-after' && f.kind !== 'status') || !f.body || body.includes(f.body)),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    if (f.times !== undefined && --f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const path = req.url ?? '/';
    this.requests.push({
      method: req.method ?? 'GET',
      path,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      body: raw.toString('utf8'),
    });
    const barrier = this.faults.find((f) => f.kind === 'barrier' && (!f.match || path.includes(f.match)));
    if (barrier?.kind === 'barrier') {
      const arrived = new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.waiting.length >= barrier.count) {
        this.faults.splice(this.faults.indexOf(barrier), 1);
        for (const release of this.waiting.splice(0)) release();
      }
      await arrived;
    }
    const slow = this.faults.find((f) => f.kind === 'slow' && (!f.match || path.includes(f.match)));
    if (slow && this.takeFault(path, 'slow'))
      await new Promise((r) => setTimeout(r, (slow as { delayMs: number }).delayMs));
    const injected = this.takeFault(path, 'status', raw.toString('utf8'));
    if (injected?.kind === 'status') {
      const headers: Record<string, string> = injected.retryAfter ? { 'retry-after': injected.retryAfter } : {};
      if (injected.html || injected.status === 502)
        return send(res, { status: injected.status, html: page(injected.status) }, headers);
      return send(
        res,
        {
          status: injected.status,
          json: {
            error_code: injected.errorCode ?? (injected.status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'INTERNAL_ERROR'),
            message: 'injected fault',
          },
        },
        headers,
      );
    }
    if (this.requireAuthorization && req.headers.authorization !== this.requireAuthorization) {
      return send(res, {
        status: 401,
        html: 'You are not authenticated. Please see the documentation on how to authenticate.',
      });
    }
    const answer = this.answer(req.method ?? 'GET', path, raw);
    if (this.takeFault(path, 'drop-after', raw.toString('utf8'))) {
      res.socket?.destroy();
      return;
    }
    send(res, answer);
  }

  private answer(method: string, path: string, raw: Buffer): Answer & { text?: string; bytes?: Buffer } {
    const url = new URL(path, 'http://x');
    const p = url.pathname;
    if (p === '/health') return { status: 200, text: 'OK' };
    if (p === '/version') return { status: 200, text: '3.6.1.dev0' };
    try {
      if (p.startsWith('/api/2.0/mlflow-artifacts/artifacts')) return this.artifacts(method, p, url.searchParams, raw);
      const endpoint = p.replace(/^\/api\/2\.0\/mlflow\//, '');
      // A server before MLflow 3: no logged models (their routes are unknown: an HTML 404).
      if (this.withoutLoggedModels && /^(logged-models|runs\/outputs)/.test(endpoint))
        return { status: 404, html: page(404) };
      if (p.startsWith('/api/2.0/mlflow/') && MODEL_ROUTES.test(endpoint)) {
        let body: Record<string, unknown> = {};
        try {
          if (method !== 'GET') body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          return { status: 500, html: page(500) };
        }
        const json = this.store.models.answer(method, endpoint, body);
        return json === undefined ? { status: 404, html: page(404) } : { status: 200, json };
      }
      const route = ROUTES[endpoint];
      if (!p.startsWith('/api/2.0/mlflow/') || !route) return { status: 404, html: page(404) };
      if (route !== method) return { status: 405, html: page(405) };
      let body: Record<string, unknown> = {};
      if (method === 'POST') {
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          return { status: 500, html: page(500) }; // as recorded: MLflow's validation trips on None
        }
      }
      return { status: 200, json: this.api(endpoint, body, url.searchParams, raw.length) };
    } catch (err) {
      if (err instanceof ApiError)
        return { status: err.status, json: { error_code: err.errorCode, message: err.message } };
      return { status: 500, html: page(500) };
    }
  }

  private api(endpoint: string, body: Record<string, unknown>, q: URLSearchParams, bytes: number): unknown {
    const s = this.store;
    switch (endpoint) {
      case 'experiments/create':
        return s.createExperiment(body).json;
      case 'experiments/get':
        return { experiment: experimentJson(s.experiment(q.get('experiment_id') ?? '')) };
      case 'experiments/get-by-name':
        return { experiment: experimentJson(s.experimentByName(q.get('experiment_name') ?? '')) };
      case 'experiments/search': {
        const clauses = /^name\s*=\s*'([^']*)'$/.exec(String(body.filter ?? '').trim());
        const all = [...s.experiments.values()].filter(
          (e) => e.lifecycle_stage === 'active' && (!clauses || e.name === clauses[1]),
        );
        return all.length ? { experiments: all.map(experimentJson) } : {};
      }
      case 'runs/create':
        return { run: s.runJson(s.createRun(body)) };
      case 'runs/get':
        return { run: s.runJson(s.run(q.get('run_id') ?? '')) };
      case 'runs/update': {
        const r = s.run(String(body.run_id ?? ''));
        if (body.status) r.status = String(body.status);
        if (body.end_time !== undefined) r.end_time = Number(body.end_time);
        if (body.run_name) r.run_name = String(body.run_name);
        return { run_info: infoJson(r) };
      }
      case 'runs/search': {
        const ids = (body.experiment_ids as string[] | undefined) ?? [];
        const clauses = parseFilter(body.filter as string | undefined);
        const found = [...s.runs.values()].filter(
          (r) => ids.includes(r.experiment_id) && r.lifecycle_stage === 'active' && matchesFilter(r, clauses),
        );
        const runs = sortRuns(found, body.order_by as string[] | undefined).slice(0, Number(body.max_results ?? 1000));
        return runs.length ? { runs: runs.map((r) => s.runJson(r)) } : {};
      }
      case 'runs/set-tag':
        s.setTag(body);
        return {};
      case 'runs/log-batch':
        s.logBatch(body, bytes);
        return {};
      case 'runs/log-parameter':
        s.logParam(body);
        return {};
      case 'runs/log-metric':
        s.logMetric(body);
        return {};
      case 'runs/delete':
        s.run(String(body.run_id ?? '')).lifecycle_stage = 'deleted';
        return {};
      case 'metrics/get-history':
        return s.history(q);
      case 'artifacts/list': {
        const r = s.run(q.get('run_id') ?? '');
        const root = `${r.experiment_id}/${r.run_id}/artifacts`;
        const sub = q.get('path');
        return {
          root_uri: `mlflow-artifacts:/${root}`,
          files: this.list(sub ? `${root}/${sub}` : root, sub ? `${sub}/` : ''),
        };
      }
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', endpoint);
  }

  private artifacts(method: string, p: string, q: URLSearchParams, raw: Buffer): Answer & { bytes?: Buffer } {
    const rel = decodeURIComponent(p.replace(/^\/api\/2\.0\/mlflow-artifacts\/artifacts\/?/, ''));
    if (method === 'PUT' && rel) {
      this.store.artifacts.set(rel, raw);
      return { status: 200, json: {} };
    }
    if (method !== 'GET') return { status: 405, html: page(405) };
    if (!rel) {
      const files = this.list(q.get('path') ?? '', '');
      return { status: 200, json: files.length ? { files } : {} };
    }
    const bytes = this.store.artifacts.get(rel);
    if (!bytes)
      throw new ApiError(
        500,
        'INTERNAL_ERROR',
        `The following failures occurred while downloading one or more artifacts from <data-dir>/artifacts:\n##### File ${rel} #####\n[Errno 2] No such file or directory`,
      );
    return { status: 200, bytes };
  }

  private list(dir: string, prefix: string): { path: string; is_dir: boolean; file_size?: number }[] {
    const out = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
    for (const [k, v] of this.store.artifacts) {
      if (!k.startsWith(`${dir}/`)) continue;
      const [head, ...rest] = k.slice(dir.length + 1).split('/');
      out.set(
        head!,
        rest.length
          ? { path: `${prefix}${head}`, is_dir: true }
          : { path: `${prefix}${head}`, is_dir: false, file_size: v.length },
      );
    }
    return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
  }
}

function page(status: number): string {
  const [title, text] = PAGES[status] ?? ['Error', 'Error'];
  return HTML_PAGE(status, title, text);
}

function send(
  res: ServerResponse,
  a: Answer & { text?: string; bytes?: Buffer },
  headers: Record<string, string> = {},
): void {
  if (a.bytes) res.writeHead(a.status, { 'content-type': 'application/octet-stream', ...headers }).end(a.bytes);
  else if (a.text !== undefined)
    res.writeHead(a.status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(a.text);
  else if (a.html !== undefined)
    res.writeHead(a.status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(a.html);
  else res.writeHead(a.status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(a.json ?? {}));
}
