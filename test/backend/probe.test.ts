import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { BACKENDS, backendProblem, chooseBackend } from '../../src/backend/probe.js';
import { ParamflowError } from '../../src/util/errors.js';
import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { loadAddon } from '../../src/backend/native/addon.js';
import { REPO } from '../helpers/project.js';

// tfjs-node is optional and normally absent here (it needs internet to install, PERF-NOTES 3).
const tfjsNodeProblem = backendProblem('tfjs-node');
// The native kernels are built at install when a C compiler and Node's headers are there.
const nativeProblemNow = backendProblem('native');

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
    expect(BACKENDS).toEqual(['tfjs-node', 'native', 'wasm', 'cpu']);
  });

  // CI sets PARAMFLOW_EXPECT_NATIVE=1 where the install's build must succeed (a C compiler and
  // Node's headers): there the addon must really have been built, and taken unless the run
  // switches it off (PARAMFLOW_NO_NATIVE=1, the fallback pass, may run with it inherited).
  it.runIf(process.env.PARAMFLOW_EXPECT_NATIVE === '1')(
    'has the native kernels built (CI expects the build to succeed)',
    () => {
      const status = join(REPO, 'build', 'native.json');
      expect(existsSync(status), `${status} is missing: the install script did not run`).toBe(true);
      const built = JSON.parse(readFileSync(status, 'utf8')) as { ok?: boolean; reason?: string };
      expect(built.ok, `the native build failed: ${built.reason}`).toBe(true);
      expect(existsSync(join(REPO, 'build', 'native.node'))).toBe(true);
      if (process.env.PARAMFLOW_NO_NATIVE === '1') expect(nativeProblemNow).toBe('PARAMFLOW_NO_NATIVE=1');
      else expect(nativeProblemNow).toBeUndefined();
    },
  );

  it.skipIf(tfjsNodeProblem === undefined || nativeProblemNow !== undefined)(
    needsNative('picks native when tfjs-node cannot load'),
    () => {
      const choice = chooseBackend();
      expect(choice.name).toBe('native');
      expect(choice.reason).toMatch(/^fastest that loads; skipped tfjs-node: /);
    },
  );

  it.skipIf(tfjsNodeProblem === undefined)('falls back to wasm with PARAMFLOW_NO_NATIVE=1, saying why', () => {
    vi.stubEnv('PARAMFLOW_NO_NATIVE', '1');
    const choice = chooseBackend();
    expect(choice.name).toBe('wasm');
    expect(choice.reason).toContain('native: PARAMFLOW_NO_NATIVE=1');
  });

  it('refuses --backend native when the native kernels are switched off, with the reason', () => {
    vi.stubEnv('PARAMFLOW_NO_NATIVE', '1');
    const e = thrown(() => chooseBackend('native'));
    expect(e.code).toBe('PF_BAD_FLAG');
    expect(e.isBadInput).toBe(true);
    expect(e.message).toContain('PARAMFLOW_NO_NATIVE=1');
  });

  it.skipIf(tfjsNodeProblem === undefined)('picks wasm when tfjs-node and native cannot load, and says why', () => {
    vi.stubEnv('PARAMFLOW_NO_NATIVE', '1');
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
    expect(e.hint).toContain('tfjs-node, native, wasm, cpu');
  });

  it.skipIf(tfjsNodeProblem === undefined)('refuses tfjs-node when it cannot load, with the reason', () => {
    const e = thrown(() => chooseBackend('tfjs-node'));
    expect(e.code).toBe('PF_BAD_FLAG');
    expect(e.message).toContain(tfjsNodeProblem!);
    expect(e.hint).toMatch(/leave --backend out/);
  });

  it.skipIf(NATIVE_PROBLEM !== undefined)(
    needsNative('refuses a PARAMFLOW_GEMM_KERNEL this CPU does not run before any stage runs (bad input, its hint)'),
    () => {
      const runs = loadAddon().gemmKernels();
      const foreign = ['avx512', 'avx2', 'neon'].find((k) => !runs.includes(k))!;
      vi.stubEnv('PARAMFLOW_GEMM_KERNEL', foreign);
      const e = thrown(() => chooseBackend('native'));
      expect(e.isBadInput).toBe(true);
      expect(e.message).toContain(foreign);
      expect(e.hint).toMatch(/unset PARAMFLOW_GEMM_KERNEL/);
      vi.stubEnv('PARAMFLOW_GEMM_KERNEL', runs[0]!);
      expect(chooseBackend('native').name).toBe('native');
    },
  );
});
