import { describe, expect, it } from 'vitest';
import { computeRunHash, computeStageKey, FORMAT_VERSION, type KeyDetails } from '../../src/hash/stage-key.js';

type Details = Omit<KeyDetails, 'format'>;

const base = (): Details => ({
  type: 'simulate',
  version: '1',
  params: { n: 100, model: 'damped-sine', x: { start: 0, stop: 10, points: 50 }, seed: 42 },
  inputs: { simulate: 'a'.repeat(64), folds: 'b'.repeat(64) },
  files: { 'data/raw.csv': 'c'.repeat(64) },
  env: { backend: 'cpu' },
});

describe('computeStageKey', () => {
  it('is a 64-hex SHA-256 and is deterministic', () => {
    const k = computeStageKey(base());
    expect(k.value).toMatch(/^[0-9a-f]{64}$/);
    expect(computeStageKey(base()).value).toBe(k.value);
  });

  it('keeps its details, with the format version added', () => {
    const k = computeStageKey(base());
    expect(k.details).toEqual({ ...base(), format: FORMAT_VERSION });
  });

  it('does not depend on the key order of the details', () => {
    const d = base();
    const reordered: Details = {
      env: { backend: 'cpu' },
      files: { 'data/raw.csv': 'c'.repeat(64) },
      inputs: { folds: 'b'.repeat(64), simulate: 'a'.repeat(64) },
      params: { seed: 42, x: { points: 50, stop: 10, start: 0 }, model: 'damped-sine', n: 100 },
      version: '1',
      type: 'simulate',
    };
    expect(computeStageKey(reordered).value).toBe(computeStageKey(d).value);
  });

  const changes: [string, (d: Details) => void][] = [
    ['the type', (d) => (d.type = 'add-noise')],
    ['the version', (d) => (d.version = '2')],
    ['a param', (d) => (d.params.n = 101)],
    ['a nested param', (d) => ((d.params.x as { points: number }).points = 51)],
    ['an added param', (d) => (d.params.dtype = 'float64')],
    ['the seed param', (d) => (d.params.seed = 43)],
    ['an input key', (d) => (d.inputs.simulate = 'd'.repeat(64))],
    ['an input renamed', (d) => (d.inputs = { noise: 'a'.repeat(64), folds: 'b'.repeat(64) })],
    ['an input dropped', (d) => delete d.inputs.folds],
    ['a file digest', (d) => (d.files['data/raw.csv'] = 'e'.repeat(64))],
    ['a file path', (d) => (d.files = { 'data/other.csv': 'c'.repeat(64) })],
    ['the env', (d) => (d.env.backend = 'wasm')],
    ['an added env fact', (d) => (d.env.tfjs = '4.22.0')],
  ];
  for (const [what, change] of changes) {
    it(`changes when ${what} changes`, () => {
      const d = base();
      change(d);
      expect(computeStageKey(d).value).not.toBe(computeStageKey(base()).value);
    });
  }

  it('gives every change above its own key', () => {
    const keys = changes.map(([, change]) => {
      const d = base();
      change(d);
      return computeStageKey(d).value;
    });
    expect(new Set([...keys, computeStageKey(base()).value]).size).toBe(changes.length + 1);
  });

  it('does not confuse a param with an env fact of the same name and value', () => {
    const a = { ...base(), params: { ...base().params, backend: 'cpu' }, env: {} };
    const b = { ...base(), env: { backend: 'cpu' } };
    expect(computeStageKey(a).value).not.toBe(computeStageKey(b).value);
  });
});

describe('computeRunHash', () => {
  const resolved = { name: 'p', seed: 7, stages: { simulate: { uses: 'simulate', with: { n: 10 } } } };
  const keys = { simulate: 'a'.repeat(64), noise: 'b'.repeat(64) };

  it('is deterministic and ignores key order', () => {
    const h = computeRunHash(resolved, keys);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(
      computeRunHash({ stages: resolved.stages, seed: 7, name: 'p' }, { noise: keys.noise, simulate: keys.simulate }),
    ).toBe(h);
  });

  it('changes with a stage key', () => {
    expect(computeRunHash(resolved, { ...keys, noise: 'c'.repeat(64) })).not.toBe(computeRunHash(resolved, keys));
  });

  it('changes with the set of stages', () => {
    expect(computeRunHash(resolved, { simulate: keys.simulate })).not.toBe(computeRunHash(resolved, keys));
  });

  it('changes with the resolved pipeline', () => {
    expect(computeRunHash({ ...resolved, name: 'q' }, keys)).not.toBe(computeRunHash(resolved, keys));
    expect(computeRunHash({ ...resolved, seed: 8 }, keys)).not.toBe(computeRunHash(resolved, keys));
  });

  it('differs from the key of a stage with the same content', () => {
    const d = base();
    expect(computeRunHash(d, {})).not.toBe(computeStageKey(d).value);
  });
});
