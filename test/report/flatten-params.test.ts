import { describe, expect, it } from 'vitest';
import { flattenParams } from '../../src/report/flatten-params.js';

describe('flattenParams', () => {
  it('names each leaf by its --set path, seed first; plain lists stay whole, lists of objects are indexed', () => {
    const resolved = {
      name: 'study',
      seed: 7,
      stages: {
        simulate: {
          uses: 'simulate',
          with: { n: 100, x: { start: 0, stop: 10 }, params: { A: { uniform: [0.5, 2] } } },
          seed: 11,
        },
        train: { uses: 'train', with: { layers: [{ dense: { units: 64 } }, { batch_norm: {} }], batch_size: 32 } },
        folds: { uses: 'split-folds' },
      },
    };
    expect(flattenParams({ resolved })).toEqual({
      seed: 7,
      'simulate.n': 100,
      'simulate.x.start': 0,
      'simulate.x.stop': 10,
      'simulate.params.A.uniform': [0.5, 2],
      'train.layers.0.dense.units': 64,
      'train.layers.1.batch_norm': {},
      'train.batch_size': 32,
    });
    expect(Object.keys(flattenParams({ resolved }))[0]).toBe('seed');
  });

  it('tolerates a record without stages', () => {
    expect(flattenParams({ resolved: { name: 'x' } })).toEqual({});
  });
});
