import type { StageContext, StageResult } from '../../src/stage/types.js';

export interface FakeContext extends StageContext {
  /** Every progress() call, in order. */
  readonly progressCalls: { done: number; total: number; unit?: string }[];
  readonly logs: string[];
}

/** A StageContext for calling a stage's run() directly, recording progress and log lines. */
export function fakeContext(overrides: Partial<StageContext> = {}): FakeContext {
  const progressCalls: FakeContext['progressCalls'] = [];
  const logs: string[] = [];
  return {
    stage: 'test',
    seed: 12345,
    root: '/tmp',
    signal: new AbortController().signal,
    progress(done, total, unit) {
      progressCalls.push({ done, total, unit });
    },
    log(message) {
      logs.push(message);
    },
    ...overrides,
    progressCalls,
    logs,
  };
}

/** The result of a run() that must be synchronous (the data stages are), so tests can expect().toThrow. */
export function syncResult(result: StageResult | Promise<StageResult>): StageResult {
  if (result instanceof Promise) throw new Error('expected run() to return synchronously');
  return result;
}
