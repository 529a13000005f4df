import { describe, expect, it } from 'vitest';
import { computeRunHash, computeStageKey, type KeyDetails } from '../../src/hash/stage-key.js';
import { diffRuns } from '../../src/report/diff-runs.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { runRecord } from '../helpers/run-record.js';

// Records whose keys are computed from their details, as the planner computes them, so a
// changed detail changes the key and everything downstream of it.
type StageInput = {
  type: string;
  version?: string;
  params: Record<string, unknown>;
  needs?: string[];
  env?: Record<string, string>;
};

function record(runId: string, stages: Record<string, StageInput>, extra: Partial<RunRecord> = {}): RunRecord {
  const keys: Record<string, string> = {};
  const details: Record<string, KeyDetails> = {};
  for (const [name, s] of Object.entries(stages)) {
    const key = computeStageKey({
      type: s.type,
      version: s.version ?? '1',
      params: s.params,
      inputs: Object.fromEntries((s.needs ?? []).map((n) => [n, keys[n]!])),
      files: {},
      env: s.env ?? {},
    });
    keys[name] = key.value;
    details[name] = key.details;
  }
  const r = runRecord(runId, keys, extra);
  for (const [name, s] of Object.entries(stages))
    Object.assign(r.stages[name]!, { type: s.type, details: details[name] });
  r.runHash = computeRunHash(r.resolved, keys);
  return r;
}

const base = (): Record<string, StageInput> => ({
  simulate: { type: 'simulate', params: { n: 100, seed: 1 } },
  noise: { type: 'add-noise', params: { relative: 0.05, seed: 2 }, needs: ['simulate'] },
  train: {
    type: 'train',
    params: { batch_size: 32, seed: 3 },
    needs: ['noise'],
    env: { backend: 'cpu', tfjs: '4.22.0' },
  },
  evaluate: { type: 'evaluate', params: { seed: 4 }, needs: ['train', 'noise'] },
});

describe('diffRuns', () => {
  it('same keys: same hash, every stage the same, nothing diverges', () => {
    const d = diffRuns(record('a', base()), record('b', base()));
    expect(d.sameHash).toBe(true);
    expect(d.stages.map((s) => s.verdict)).toEqual(['same', 'same', 'same', 'same']);
    expect(d.firstDivergent).toBeNull();
  });

  it('names the changed param, the first stage that changed by itself, and the stages downstream through their inputs', () => {
    const b = base();
    b.noise!.params = { relative: 0.1, seed: 2 };
    const d = diffRuns(record('a', base()), record('b', b));
    expect(d.sameHash).toBe(false);
    expect(d.firstDivergent).toBe('noise');
    expect(d.changedByItself).toEqual(['noise']);
    expect(d.changedByInputs).toEqual(['train', 'evaluate']);
    const noise = d.stages.find((s) => s.stage === 'noise')!;
    expect(noise.changes).toEqual([{ kind: 'param', path: 'noise.relative', from: 0.05, to: 0.1 }]);
    expect(noise.reasons).toEqual(['param noise.relative 0.05 → 0.1']);
    const evaluate = d.stages.find((s) => s.stage === 'evaluate')!;
    expect(evaluate.changes.map((c) => (c.kind === 'input' ? c.stage : c.kind)).sort()).toEqual(['noise', 'train']);
  });

  it('a changed implementation version changes the key, and diff says so', () => {
    const b = base();
    b.train!.version = '2';
    const a = record('a', base());
    const bb = record('b', b);
    expect(bb.stages.train!.key).not.toBe(a.stages.train!.key);
    const d = diffRuns(a, bb);
    expect(d.firstDivergent).toBe('train');
    expect(d.stages.find((s) => s.stage === 'train')!.reasons).toEqual(['implementation version 1 → 2']);
    expect(d.changedByInputs).toEqual(['evaluate']);
  });

  it('a stage changed by itself and through its inputs counts as changed by itself', () => {
    const b = base();
    b.noise!.params = { relative: 0.1, seed: 2 };
    b.train!.params = { batch_size: 64, seed: 3 };
    const d = diffRuns(record('a', base()), record('b', b));
    expect(d.changedByItself).toEqual(['noise', 'train']);
    expect(d.stages.find((s) => s.stage === 'train')!.reasons).toEqual([
      'param train.batch_size 32 → 64',
      expect.stringMatching(/^input noise changed/),
    ]);
  });

  it("a backend change is the train stage's own change (it is in its key), and an environment difference", () => {
    const b = base();
    b.train!.env = { backend: 'wasm', tfjs: '4.22.0' };
    const a = record('a', base());
    a.environment.backend = { name: 'cpu', reason: 'forced', tfjs: '4.22.0' };
    const bb = record('b', b);
    bb.environment.backend = { name: 'wasm', reason: 'fastest', tfjs: '4.22.0' };
    bb.environment.git = { commit: 'c0ffee', dirty: true };
    const d = diffRuns(a, bb);
    expect(d.firstDivergent).toBe('train');
    expect(d.stages.find((s) => s.stage === 'train')!.reasons).toEqual(['backend cpu → wasm']);
    expect(d.environment).toEqual([
      { field: 'backend', a: 'cpu', b: 'wasm' },
      { field: 'git commit', a: null, b: 'c0ffee' },
      { field: 'git dirty', a: null, b: 'true' },
    ]);
  });

  it('lists stages present in one run only, in pipeline order', () => {
    const b = base();
    delete b.evaluate;
    b.report = { type: 'command', params: {}, needs: ['train'] };
    const d = diffRuns(record('a', base()), record('b', b));
    expect(d.onlyInA).toEqual(['evaluate']);
    expect(d.onlyInB).toEqual(['report']);
    expect(d.stages.map((s) => s.stage)).toEqual(['simulate', 'noise', 'train', 'evaluate', 'report']);
    expect(d.firstDivergent).toBeNull();
  });

  it('top-level pipeline values and metric deltas (B − A)', () => {
    const a = record('a', base(), { resolved: { name: 'study', seed: 7 }, metrics: { cv_rmse_mean: 0.5, only_a: 1 } });
    const b = record('b', base(), { resolved: { name: 'study', seed: 8 }, metrics: { cv_rmse_mean: 0.4 } });
    const d = diffRuns(a, b);
    expect(d.pipeline).toEqual([{ key: 'seed', a: 7, b: 8 }]);
    expect(d.metrics.cv_rmse_mean!.delta).toBeCloseTo(-0.1, 12);
    expect(d.metrics.cv_rmse_mean!.deltaPct).toBeCloseTo(-20, 9);
    expect(d.metrics.only_a).toEqual({ a: 1, b: null, delta: null, deltaPct: null });
    expect(Object.keys(d.metrics)[0]).toBe('cv_rmse_mean');
  });

  it('different keys with equal recorded details are still reported as a change', () => {
    const a = record('a', base());
    const b = record('b', base());
    b.stages.simulate!.key = 'f'.repeat(64);
    const d = diffRuns(a, b);
    expect(d.firstDivergent).toBe('simulate');
    expect(d.stages[0]!.reasons[0]).toMatch(/recorded details are equal/);
  });
});
