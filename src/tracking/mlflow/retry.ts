import { setTimeout as delay } from 'node:timers/promises';
import { MlflowError } from './errors.js';

// When to send a failed MLflow request again, and after how long. Retried: no answer
// (network errors, timeouts), 429, 502, 503, 504, honouring Retry-After; a 500 only
// once, because MLflow answers 500 for some permanent errors (a missing artifact,
// malformed JSON); never any other 4xx.
export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** First backoff; doubles each attempt, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How many times a 500 is retried. */
  max500Retries: number;
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  max500Retries: 1,
  maxRetryAfterMs: 120_000,
};

const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Injectable time, so tests never wait for real backoff. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
  random: () => Math.random(),
};

export interface RetryContext {
  policy: RetryPolicy;
  clock: Clock;
  /** Epoch ms after which no retry starts (the tracker's bounded flush). */
  deadline?: number;
  signal?: AbortSignal;
  onRetry?: (err: MlflowError, delayMs: number, attempt: number) => void;
}

/**
 * The wait before attempt `attempt + 1` after `err`, or undefined when `err` must not be
 * retried. `retried500` counts the 500s already retried.
 */
export function retryDelay(
  err: MlflowError,
  attempt: number,
  retried500: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (attempt >= policy.retries) return undefined;
  if (err.kind === 'status') {
    const status = err.status ?? 0;
    if (status === 500) {
      if (retried500 >= policy.max500Retries) return undefined;
    } else if (!RETRIED_STATUSES.has(status)) {
      return undefined;
    }
  }
  if (err.retryAfterMs !== undefined) return Math.min(Math.max(0, err.retryAfterMs), policy.maxRetryAfterMs);
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(backoff / 2 + random() * (backoff / 2));
}

/** Runs `attempt(n)` until it succeeds or its failure is not worth retrying. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, ctx: RetryContext): Promise<T> {
  let retried500 = 0;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof MlflowError)) throw err;
      const wait = retryDelay(err, n, retried500, ctx.policy, ctx.clock.random);
      if (wait === undefined) throw err;
      if (ctx.deadline !== undefined && ctx.clock.now() + wait > ctx.deadline) throw err;
      if (ctx.signal?.aborted) throw err;
      if (err.status === 500) retried500++;
      ctx.onRetry?.(err, wait, n + 1);
      try {
        await ctx.clock.sleep(wait, ctx.signal);
      } catch {
        throw err; // aborted while waiting: report the failure, not the abort
      }
    }
  }
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
