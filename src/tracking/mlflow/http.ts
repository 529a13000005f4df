import { Pool, type Dispatcher } from 'undici';
import type { MlflowAuth } from './auth.js';
import { MlflowError, statusHint, UNREACHABLE_HINT, type MlflowFailureKind } from './errors.js';
import { DEFAULT_RETRY, parseRetryAfter, systemClock, withRetry, type Clock, type RetryPolicy } from './retry.js';
import { parseTrackingUri, redactUri, splitTrackingUri } from './uri.js';

export interface TransportOptions {
  /** An http(s) tracking server; anything else is refused. */
  uri: string;
  auth?: MlflowAuth;
  /** Per request, including reading the answer. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  /** Sockets kept open to the server. Default 8. */
  connections?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Below the server root, with its query string: `/api/2.0/mlflow/runs/get?run_id=…`. */
  path: string;
  json?: unknown;
  body?: Uint8Array | string;
  contentType?: string;
  /** Answer as bytes instead of parsed JSON. */
  bytes?: boolean;
  /** false: one attempt only (the caller retries after checking what reached the server). */
  retry?: boolean;
  /** Epoch ms: no retry starts after it, and no attempt outlives it. */
  deadline?: number;
  signal?: AbortSignal;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

// One pool of keep-alive connections to the tracking server; every request gets a
// timeout, the retry policy, and an MlflowError when it fails.
export class HttpTransport {
  readonly server: string;
  private readonly pool: Dispatcher;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  readonly clock: Clock;
  readonly auth?: MlflowAuth;

  constructor(options: TransportOptions) {
    const url = parseTrackingUri(options.uri);
    const parts = splitTrackingUri(url);
    this.server = redactUri(options.uri);
    this.basePath = parts.basePath;
    this.auth = options.auth;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.pool = new Pool(parts.origin, { connections: options.connections ?? 8, keepAliveTimeout: 10_000 });
  }

  async send<T>(req: HttpRequest): Promise<T> {
    if (req.retry === false) return this.attempt<T>(req);
    return withRetry((_n) => this.attempt<T>(req), {
      policy: this.policy,
      clock: this.clock,
      deadline: req.deadline,
      signal: req.signal,
    });
  }

  /** Closes idle connections; waits for requests in flight. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Drops every connection at once, requests in flight included. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }

  private async attempt<T>(req: HttpRequest): Promise<T> {
    const endpoint = `${req.method} ${req.path.split('?')[0]!.replace(/^\/api\/2\.0\//, '')}`;
    const budget =
      req.deadline === undefined
        ? this.timeoutMs
        : Math.max(1, Math.min(this.timeoutMs, req.deadline - this.clock.now()));
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), budget);
    const signal = req.signal ? AbortSignal.any([req.signal, timer.signal]) : timer.signal;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth) headers.authorization = this.auth.header();
    let body: string | Uint8Array | undefined = req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    } else if (body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/octet-stream';
    }
    try {
      const res = await this.pool.request({
        method: req.method,
        path: this.basePath + req.path,
        headers,
        body,
        signal,
      });
      const raw = Buffer.from(await res.body.arrayBuffer());
      const contentType = String(res.headers['content-type'] ?? '');
      if (res.statusCode >= 200 && res.statusCode < 300) {
        if (req.bytes) return raw as T;
        return this.parseOk<T>(raw.toString('utf8'), contentType, res.statusCode, endpoint);
      }
      const retryAfter = res.headers['retry-after'];
      throw this.statusError(
        endpoint,
        res.statusCode,
        raw.toString('utf8'),
        contentType,
        parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, this.clock.now()),
      );
    } catch (err) {
      if (err instanceof MlflowError) throw err;
      if (timer.signal.aborted && !req.signal?.aborted) {
        throw this.networkError(endpoint, 'network', `no answer within ${Math.round(budget / 100) / 10} s`, err);
      }
      if (req.signal?.aborted) throw this.networkError(endpoint, 'network', 'cancelled', err);
      const code = errorCode(err);
      const kind: MlflowFailureKind = code && UNREACHABLE_CODES.has(code) ? 'unreachable' : 'network';
      throw this.networkError(endpoint, kind, code ? `${code}` : (err as Error).message, err);
    } finally {
      clearTimeout(timeout);
    }
  }

  private parseOk<T>(text: string, contentType: string, status: number, endpoint: string): T {
    if (text.trim() === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      const what = looksHtml(text, contentType)
        ? `an HTML page (status ${status})`
        : `text that is not JSON (status ${status})`;
      throw new MlflowError(`MLflow ${endpoint}: the server answered ${what}`, {
        kind: 'status',
        endpoint,
        status,
        hint: statusHint(404),
      });
    }
  }

  private statusError(
    endpoint: string,
    status: number,
    text: string,
    contentType: string,
    retryAfterMs: number | undefined,
  ): MlflowError {
    let errorCode: string | undefined;
    let detail: string;
    const json = tryJson(text);
    if (json && typeof json === 'object' && ('error_code' in json || 'message' in json)) {
      const j = json as { error_code?: unknown; message?: unknown };
      errorCode = typeof j.error_code === 'string' ? j.error_code : undefined;
      detail = `${errorCode ?? 'error'}: ${firstLine(String(j.message ?? ''))}`;
    } else if (looksHtml(text, contentType)) {
      const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
      detail = `the server answered an HTML page (status ${status})${title ? `: ${title}` : ''}`;
    } else {
      detail = firstLine(text) || `HTTP ${status}`;
    }
    const message = this.scrub(`MLflow ${endpoint} failed (${status}): ${detail}`);
    return new MlflowError(message, {
      kind: 'status',
      endpoint,
      status,
      ...(errorCode ? { errorCode } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      // A JSON error (RESOURCE_DOES_NOT_EXIST…) is the server speaking: no hint about the URI.
      ...(!errorCode && statusHint(status) ? { hint: statusHint(status) } : {}),
    });
  }

  private networkError(endpoint: string, kind: MlflowFailureKind, what: string, cause: unknown): MlflowError {
    const message = this.scrub(`MLflow ${endpoint}: cannot reach ${this.server} (${what})`);
    return new MlflowError(message, {
      kind,
      endpoint,
      hint: UNREACHABLE_HINT,
      cause: this.scrub(String((cause as Error)?.message ?? cause)),
    });
  }

  private scrub(text: string): string {
    return this.auth ? this.auth.scrub(text) : text;
  }
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

function looksHtml(text: string, contentType: string): boolean {
  return contentType.includes('text/html') || /^\s*</.test(text);
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
