import type { StageContext } from './types.js';

/** A StageContext recording what a stage reports: for unit tests of stage modules. */
export interface TestStageContext extends StageContext {
  readonly logs: string[];
  readonly progressCalls: { done: number; total: number; unit?: string }[];
}

/**
 * A context for calling a stage's `run` directly (the scaffold's test uses it): seed 1,
 * the working folder as root, no TensorFlow, an in-memory checkpoint.
 */
export function stageTestContext(overrides: Partial<StageContext> = {}): TestStageContext {
  const logs: string[] = [];
  const progressCalls: TestStageContext['progressCalls'] = [];
  let saved: Record<string, Uint8Array> | undefined;
  return {
    stage: 'test',
    seed: 1,
    root: process.cwd(),
    dir: process.cwd(),
    signal: new AbortController().signal,
    progress: (done, total, unit) => void progressCalls.push({ done, total, ...(unit ? { unit } : {}) }),
    log: (message) => void logs.push(message),
    tf: () => Promise.reject(new Error('stageTestContext has no TensorFlow: pass tf in the overrides')),
    checkpoint: {
      load: async () => saved,
      save: async (files) => void (saved = { ...files }),
    },
    ...overrides,
    logs,
    progressCalls,
  };
}
