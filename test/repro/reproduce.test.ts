import { describe, expect, it } from 'vitest';
import { backendProblem } from '../../src/backend/probe.js';
import { ParamflowError } from '../../src/util/errors.js';
import { chooseReproBackend } from '../../src/repro/reproduce.js';
import { runRecord } from '../helpers/run-record.js';

const trained = (backend?: 'cpu' | 'wasm' | 'tfjs-node') => {
  const r = runRecord('20260101-000000-000-1111', { simulate: 'a'.repeat(64), train: 'b'.repeat(64) });
  if (backend) {
    r.stages.train!.details.env = { backend, tfjs: '4.22.0' };
    r.environment.backend = { name: backend, reason: 'fastest that loads', tfjs: '4.22.0' };
  }
  return r;
};

describe('chooseReproBackend', () => {
  it('a run without TensorFlow needs no backend', () => {
    expect(chooseReproBackend(trained(), undefined)).toBeUndefined();
  });

  it.skipIf(backendProblem('cpu') !== undefined)('the recorded backend when it loads, said so', () => {
    expect(chooseReproBackend(trained('cpu'), undefined)).toMatchObject({ name: 'cpu', reason: 'as recorded' });
  });

  it.skipIf(backendProblem('cpu') !== undefined)(
    "an older record without environment.backend: the backend in train's key",
    () => {
      const r = trained('cpu');
      delete r.environment.backend;
      expect(chooseReproBackend(r, undefined)).toMatchObject({ name: 'cpu', reason: 'as recorded' });
    },
  );

  it.skipIf(backendProblem('tfjs-node') === undefined)(
    'a recorded backend that cannot load here: the fastest that loads, and why',
    () => {
      const choice = chooseReproBackend(trained('tfjs-node'), undefined)!;
      expect(choice.name).not.toBe('tfjs-node');
      expect(choice.reason).toMatch(/^the recorded tfjs-node cannot load here \(.*\); fastest that loads/);
    },
  );

  it.skipIf(backendProblem('wasm') !== undefined)(
    '--backend wins over the recorded one; an unknown one is bad input',
    () => {
      expect(chooseReproBackend(trained('cpu'), 'wasm')).toMatchObject({ name: 'wasm', reason: 'requested' });
      expect(() => chooseReproBackend(trained('cpu'), 'gpu')).toThrow(ParamflowError);
    },
  );
});
