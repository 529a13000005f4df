import { describe, expect, it } from 'vitest';
import { compileStageSchema, validateWith } from '../../helpers/stage-schema.js';

describe('evaluate schema', () => {
  const validate = compileStageSchema('evaluate');

  it('fills plots = true and batch_size = 1024, and leaves target_names to the run', () => {
    const r = validateWith(validate, {});
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({ plots: true, batch_size: 1024 });
    expect(validateWith(validate, { target_names: ['amp', 'decay_1'], plots: false, batch_size: 64 }).value).toEqual({
      target_names: ['amp', 'decay_1'],
      plots: false,
      batch_size: 64,
    });
  });

  it.each([
    ['a name with a dot', { target_names: ['a.b'] }, '/target_names/0'],
    ['a name starting with a digit', { target_names: ['1a'] }, '/target_names/0'],
    ['repeated names', { target_names: ['A', 'A'] }, '/target_names'],
    ['no names', { target_names: [] }, '/target_names'],
    ['batch_size 0', { batch_size: 0 }, '/batch_size'],
    ['fractional batch_size', { batch_size: 2.5 }, '/batch_size'],
    ['plots as a string', { plots: 'yes' }, '/plots'],
    ['unknown key', { metrics: ['rmse'] }, ''],
  ])('refuses %s', (_, value, pointer) => {
    expect(validateWith(validate, value).ok).toBe(false);
    expect(validate.errors!.some((e) => e.instancePath === pointer)).toBe(true);
  });
});
