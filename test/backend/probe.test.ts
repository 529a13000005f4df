import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { BACKENDS, backendProblem, chooseBackend } from '../../src/backend/probe.js';
import { ParamflowError } from '../../src/errors.js';

// tfjs-node is optional and normally absent here (it needs internet to install, PERF-NOTES 3).
const tfjsNodeProblem = backendProblem('tfjs-node');

beforeEach(() => {
  vi.stubEnv('PARAMFLOW_BACKEND', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function thrown(fn: () => unknown): ParamflowError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ParamflowError);
    return e as ParamflowError;
  }
  throw new Error('expected a ParamflowError');
}

describe('chooseBackend', () => {
  it('lists the backends fastest first', () => {
    expect(BACKENDS).toEqual(['tfjs-node', 'wasm', 'cpu']);
  });

  it.skipIf(tfjsNodeProblem === undefined)('picks wasm when tfjs-node cannot load, and says why', () => {
    const choice = chooseBackend();
    expect(choice.name).toBe('wasm');
    expect(choice.reason).toMatch(/^fastest that loads/);
    expect(choice.reason).toContain('tfjs-node');
    expect(choice.tfjsVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('takes PARAMFLOW_BACKEND as the requested backend', () => {
    vi.stubEnv('PARAMFLOW_BACKEND', 'cpu');
    expect(chooseBackend()).toMatchObject({ name: 'cpu', reason: 'requested' });
  });

  it('accepts cpu and wasm on request', () => {
    expect(chooseBackend('cpu')).toMatchObject({ name: 'cpu', reason: 'requested' });
    expect(chooseBackend('wasm')).toMatchObject({ name: 'wasm', reason: 'requested' });
  });

  it('refuses an unknown backend with PF_BAD_FLAG, naming the choices', () => {
    const e = thrown(() => chooseBackend('bogus'));
    expect(e.code).toBe('PF_BAD_FLAG');
    expect(e.isBadInput).toBe(true);
    expect(e.message).toContain('bogus');
    expect(e.hint).toContain('tfjs-node, wasm, cpu');
  });

  it.skipIf(tfjsNodeProblem === undefined)('refuses tfjs-node when it cannot load, with the reason', () => {
    const e = thrown(() => chooseBackend('tfjs-node'));
    expect(e.code).toBe('PF_BAD_FLAG');
    expect(e.message).toContain(tfjsNodeProblem!);
    expect(e.hint).toMatch(/leave --backend out/);
  });
});
