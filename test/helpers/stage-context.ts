import { loadTensorflow } from '../../src/backend/load.js';
import type { CheckpointStore, StageContext, StageResult } from '../../src/stage-contract/types.js';
import { TRAIN_BACKEND } from './train-context.js';

/** A checkpoint store in memory (what a resumed stage reads back). */
export function memoryCheckpoints(): CheckpointStore & { files: Record<string, Uint8Array> | undefined } {
  const store = {
    files: undefined as Record<string, Uint8Array> | undefined,
    async load() {
      return store.files;
    },
    async save(files: Record<string, Uint8Array>) {
      store.files = { ...files };
    },
  };
  return store;
}

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
    tf: () => loadTensorflow(TRAIN_BACKEND),
    checkpoint: memoryCheckpoints(),
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
