import { describe, expectTypeOf, it } from 'vitest';
import { defineStage, type FromSchema } from '../../src/stage-contract/types.js';

describe('FromSchema / defineStage', () => {
  it('types params from the schema: required and defaulted keys present, others optional', () => {
    const schema = {
      type: 'object',
      required: ['n'],
      properties: {
        n: { type: 'integer' },
        mode: { enum: ['fast', 'exact'], default: 'fast' },
        scale: { type: 'number' },
        tags: { type: 'array', items: { type: 'string' } },
        inner: { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'] },
        either: { oneOf: [{ type: 'string' }, { type: 'number' }] },
      },
    } as const;
    expectTypeOf<FromSchema<typeof schema>>().toEqualTypeOf<{
      n: number;
      mode: 'fast' | 'exact';
      scale?: number;
      tags?: string[];
      inner?: { on: boolean };
      either?: string | number;
    }>();
  });

  it('gives run() the typed params without `as const`', () => {
    const def = defineStage({
      name: 'typed',
      version: '1',
      schema: {
        type: 'object',
        required: ['factor'],
        properties: { factor: { type: 'number' }, label: { type: 'string', default: 'x' } },
      },
      outputs: [{ name: 'out', kind: 'json' }],
      run: (_inputs, params) => {
        expectTypeOf(params.factor).toEqualTypeOf<number>();
        expectTypeOf(params.label).toEqualTypeOf<string>();
        return { outputs: {} };
      },
    });
    expectTypeOf(def.inputs).toEqualTypeOf<readonly string[]>();
  });
});
