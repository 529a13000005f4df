import { describe, expect, it } from 'vitest';
import { computeStageKey } from '../../src/hash/stage-key.js';
import type { PlannedStage } from '../../src/pipeline/plan.js';
import { explainStage } from '../../src/runner/status.js';

// `paramflow status` says why a stage would run; a new implementation version of a stage
// type changes its key, and status names it (as `diff` does).
describe('explainStage', () => {
  const details = {
    type: 'train',
    params: { batch_size: 32, seed: 3 },
    inputs: { noise: 'a'.repeat(64) },
    files: {},
    env: {},
  };
  const previous = computeStageKey({ ...details, version: '1' });
  const current = computeStageKey({ ...details, version: '2' });
  const stage = { spec: { name: 'train' }, key: current } as unknown as PlannedStage;

  it('a changed implementation version: a new key, and the reason says which versions', () => {
    expect(current.value).not.toBe(previous.value);
    const { reasons, changes } = explainStage(stage, { hit: false, reason: 'absent' }, { details: previous.details });
    expect(changes).toEqual([{ kind: 'version', from: '1', to: '2' }]);
    expect(reasons).toEqual(['implementation version 1 → 2']);
  });

  it('a cache hit needs no reason', () => {
    expect(explainStage(stage, { hit: true, manifest: {} as never }, { details: previous.details })).toEqual({
      reasons: [],
      changes: [],
    });
  });
});
