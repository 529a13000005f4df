import type { RunRecord, StageRecord } from '../../src/tracking/run-record.js';
import { FORMAT_VERSION } from '../../src/hash/stage-key.js';
import { HOST } from '../../src/util/process-alive.js';

/** A minimal finished RunRecord; `stageKeys` maps stage name → cache key. */
export function runRecord(
  runId: string,
  stageKeys: Record<string, string> = {},
  overrides: Partial<RunRecord> = {},
): RunRecord {
  const stages: Record<string, StageRecord> = Object.fromEntries(
    Object.entries(stageKeys).map(([name, key]) => [
      name,
      {
        type: name,
        key,
        status: 'executed',
        details: { type: name, version: '1', params: {}, inputs: {}, files: {}, env: {}, format: FORMAT_VERSION },
      } satisfies StageRecord,
    ]),
  );
  return {
    format: 1,
    runId,
    runHash: 'f'.repeat(64),
    pipeline: { name: 'study', file: '/p/pipeline.yaml', experiment: 'study' },
    resolved: { name: 'study' },
    status: 'FINISHED',
    pid: process.pid,
    host: HOST,
    startedAt: '2026-01-01T00:00:00.000Z',
    stages,
    metrics: {},
    environment: {
      paramflow: '0.0.0',
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      git: null,
    },
    options: { noCache: false, overrides: [] },
    ...overrides,
  };
}
