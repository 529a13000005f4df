import { describe, expect, it } from 'vitest';
import { describeChange, explainKeyChange, type Change } from '../../src/hash/explain.js';
import { FORMAT_VERSION, type KeyDetails } from '../../src/hash/stage-key.js';

const H1 = '1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const H2 = '2222222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

const details = (): KeyDetails => ({
  type: 'train',
  version: '1',
  params: { batch_size: 32, optimizer: { adam: { lr: 0.001 } }, layers: [{ dense: { units: 64 } }], seed: 9 },
  inputs: { noise: H1, folds: H1 },
  files: {},
  env: { backend: 'cpu' },
  format: FORMAT_VERSION,
});

describe('explainKeyChange', () => {
  it('says never-run when there is no previous run', () => {
    expect(explainKeyChange(undefined, details(), 'train')).toEqual([{ kind: 'never-run' }]);
  });

  it('finds nothing when the details are the same, whatever their key order', () => {
    const d = details();
    const reordered: KeyDetails = {
      ...d,
      params: { seed: 9, layers: d.params.layers, optimizer: d.params.optimizer, batch_size: 32 },
    };
    expect(explainKeyChange(d, reordered, 'train')).toEqual([]);
  });

  it('names a changed param by its dotted path from the stage, with old and new values', () => {
    const now = details();
    now.params.batch_size = 64;
    expect(explainKeyChange(details(), now, 'train')).toEqual([
      { kind: 'param', path: 'train.batch_size', from: 32, to: 64 },
    ]);
  });

  it('walks into nested mappings: stage.a.b', () => {
    const now = details();
    now.params.optimizer = { adam: { lr: 0.01 } };
    expect(explainKeyChange(details(), now, 'train')).toEqual([
      { kind: 'param', path: 'train.optimizer.adam.lr', from: 0.001, to: 0.01 },
    ]);
  });

  it('reports added and removed params with undefined on the missing side', () => {
    const now = details();
    now.params.epochs = 10;
    delete now.params.batch_size;
    const changes = explainKeyChange(details(), now, 'train');
    expect(changes).toContainEqual({ kind: 'param', path: 'train.epochs', from: undefined, to: 10 });
    expect(changes).toContainEqual({ kind: 'param', path: 'train.batch_size', from: 32, to: undefined });
    expect(changes).toHaveLength(2);
  });

  it('reports a changed list as one change at the list', () => {
    const now = details();
    now.params.layers = [{ dense: { units: 128 } }];
    expect(explainKeyChange(details(), now, 'train')).toEqual([
      { kind: 'param', path: 'train.layers', from: [{ dense: { units: 64 } }], to: [{ dense: { units: 128 } }] },
    ]);
  });

  it('does not report numbers spelled differently (-0 vs 0) as a change', () => {
    const before = details();
    before.params.shift = -0;
    const now = details();
    now.params.shift = 0;
    expect(explainKeyChange(before, now, 'train')).toEqual([]);
  });

  it('reports a changed seed as a param', () => {
    const now = details();
    now.params.seed = 10;
    expect(explainKeyChange(details(), now, 'train')).toEqual([{ kind: 'param', path: 'train.seed', from: 9, to: 10 }]);
  });

  it('names the input stage whose key changed, and only that one', () => {
    const now = details();
    now.inputs.noise = H2;
    expect(explainKeyChange(details(), now, 'train')).toEqual([{ kind: 'input', stage: 'noise', from: H1, to: H2 }]);
  });

  it('reports added and removed inputs', () => {
    const now = details();
    delete now.inputs.folds;
    now.inputs.simulate = H2;
    const changes = explainKeyChange(details(), now, 'train');
    expect(changes).toContainEqual({ kind: 'input', stage: 'folds', from: H1, to: undefined });
    expect(changes).toContainEqual({ kind: 'input', stage: 'simulate', from: undefined, to: H2 });
  });

  it('reports a version, type, file, env and format change', () => {
    const now: KeyDetails = {
      ...details(),
      version: '2',
      type: 'train2',
      files: { 'a.csv': H2 },
      env: { backend: 'wasm' },
      format: FORMAT_VERSION + 1,
    };
    const before: KeyDetails = { ...details(), files: { 'a.csv': H1 } };
    const changes = explainKeyChange(before, now, 'train');
    expect(changes).toContainEqual({ kind: 'version', from: '1', to: '2' });
    expect(changes).toContainEqual({ kind: 'type', from: 'train', to: 'train2' });
    expect(changes).toContainEqual({ kind: 'file', path: 'a.csv', from: H1, to: H2 });
    expect(changes).toContainEqual({ kind: 'env', name: 'backend', from: 'cpu', to: 'wasm' });
    expect(changes).toContainEqual({ kind: 'format', from: FORMAT_VERSION, to: FORMAT_VERSION + 1 });
    expect(changes).toHaveLength(5);
  });

  it('reports only the version when only the version changed', () => {
    expect(explainKeyChange(details(), { ...details(), version: '2' }, 'train')).toEqual([
      { kind: 'version', from: '1', to: '2' },
    ]);
  });
});

describe('describeChange', () => {
  it('says never run', () => {
    expect(describeChange({ kind: 'never-run' })).toMatch(/never run/);
  });

  it('shows a param path with its old and new values', () => {
    const text = describeChange({ kind: 'param', path: 'train.batch_size', from: 32, to: 64 });
    expect(text).toContain('train.batch_size');
    expect(text).toContain('32');
    expect(text).toContain('64');
    expect(text.indexOf('32')).toBeLessThan(text.indexOf('64'));
  });

  it('shows strings and structures as JSON, and an absent side as unset', () => {
    const text = describeChange({ kind: 'param', path: 'simulate.model', from: 'damped-sine', to: 'logistic' });
    expect(text).toContain('"damped-sine"');
    expect(text).toContain('"logistic"');
    expect(describeChange({ kind: 'param', path: 'train.epochs', from: undefined, to: 10 })).toMatch(/unset.*10/);
    expect(describeChange({ kind: 'param', path: 'train.l', from: [1], to: [1, 2] })).toContain('[1,2]');
  });

  it('names the input stage and both key prefixes', () => {
    const text = describeChange({ kind: 'input', stage: 'noise', from: H1, to: H2 });
    expect(text).toContain('noise');
    expect(text).toContain(H1.slice(0, 10));
    expect(text).toContain(H2.slice(0, 10));
  });

  it('shows old and new version, type, env and format', () => {
    const cases: [Change, string, string][] = [
      [{ kind: 'version', from: '1', to: '2' }, '1', '2'],
      [{ kind: 'type', from: 'simulate', to: 'command' }, 'simulate', 'command'],
      [{ kind: 'env', name: 'backend', from: 'cpu', to: 'wasm' }, 'cpu', 'wasm'],
      [{ kind: 'format', from: 1, to: 2 }, '1', '2'],
    ];
    for (const [c, from, to] of cases) {
      const text = describeChange(c);
      expect(text).toContain(from);
      expect(text).toContain(to);
      expect(text.lastIndexOf(from)).toBeLessThan(text.lastIndexOf(to));
    }
    expect(describeChange({ kind: 'env', name: 'backend', from: 'cpu', to: 'wasm' })).toContain('backend');
  });

  it('names the changed file', () => {
    expect(describeChange({ kind: 'file', path: 'data/raw.csv', from: H1, to: H2 })).toContain('data/raw.csv');
  });

  it('describes every change the explainer finds in words that mention the path', () => {
    const now = details();
    now.params.batch_size = 64;
    now.inputs.noise = H2;
    const texts = explainKeyChange(details(), now, 'train').map(describeChange);
    expect(texts.some((t) => t.includes('train.batch_size'))).toBe(true);
    expect(texts.some((t) => t.includes('noise'))).toBe(true);
  });
});
