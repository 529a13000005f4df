import { describe, expect, it } from 'vitest';
import { builtinRegistry, StageRegistry } from '../../src/stage-contract/registry.js';
import { defineStage } from '../../src/stage-contract/types.js';
import { ParamflowError } from '../../src/util/errors.js';

const stage = (name: string, output = 'out') =>
  defineStage({
    name,
    version: '1',
    schema: 'stages/split-folds.schema.json',
    inputs: [],
    outputs: [{ name: output, kind: 'json' }],
    run: () => ({ outputs: {} }),
  });

describe('StageRegistry', () => {
  it('refuses a second stage of the same name', () => {
    const r = new StageRegistry();
    r.register(stage('a'));
    expect(() => r.register(stage('a'))).toThrow(/registered twice/);
  });

  it('refuses output names the cache uses for its own files', () => {
    expect(() => new StageRegistry().register(stage('b', 'manifest'))).toThrow(/reserved/);
    expect(() => new StageRegistry().register(stage('c', 'COMPLETE'))).toThrow(/reserved/);
  });

  it('answers an unknown name with a located error and a did-you-mean', async () => {
    const r = await builtinRegistry();
    expect(r.names()).toEqual(expect.arrayContaining(['add-noise', 'evaluate', 'simulate', 'split-folds']));
    let err: unknown;
    try {
      r.get('split-fold', { file: 'p.yaml', line: 3, column: 11 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParamflowError);
    expect((err as ParamflowError).code).toBe('PF_UNKNOWN_STAGE_TYPE');
    expect((err as ParamflowError).hint).toMatch(/did you mean `split-folds`/);
    expect((err as ParamflowError).location).toEqual({ file: 'p.yaml', line: 3, column: 11 });
  });
});
