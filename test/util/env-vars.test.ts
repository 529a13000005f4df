import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { checkEnvironment, ENV_VARS, envNumber } from '../../src/util/env-vars.js';
import { ParamflowError } from '../../src/util/errors.js';
import { paramflow, quickProject } from '../helpers/project.js';
import { printedErrors } from '../helpers/cli.js';

// Issue 18 item 15: PARAMFLOW_CHECKPOINT_SECONDS=-1 silently turned checkpoints off and
// PARAMFLOW_BLAS_THREADS=x was ignored. Every user-facing PARAMFLOW_* variable is checked
// by one registry; a bad value is exit 2 naming the variable.

const dir = quickProject();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BAD: Record<string, string> = {
  PARAMFLOW_CHECKPOINT_SECONDS: '-1',
  PARAMFLOW_BLAS_THREADS: 'x',
  PARAMFLOW_GEMM_KERNEL: 'avx9',
  PARAMFLOW_FUSED: 'yes',
  PARAMFLOW_QUEUE_LOCK_MS: '0',
  PARAMFLOW_REDIS_URL: 'localhost:6379',
};

describe('PARAMFLOW_* variables', () => {
  for (const [name, value] of Object.entries(BAD)) {
    it(`${name}=${value}: exit 2 naming the variable, before anything runs`, async () => {
      const r = await paramflow(dir, ['run', 'pipeline.yaml'], { env: { [name]: value } });
      expect(r.exitCode, String(r.stderr)).toBe(2);
      const [err] = printedErrors(String(r.stderr));
      expect(err?.head).toContain(`${name}: error PF_BAD_FLAG: ${name} must be`);
      expect(err?.head).toContain(JSON.stringify(value));
      expect(err?.hint).toContain(name);
    });
  }

  it('good values and unset ones pass; numbers come back as numbers', () => {
    expect(() =>
      checkEnvironment({
        PARAMFLOW_CHECKPOINT_SECONDS: '0',
        PARAMFLOW_BLAS_THREADS: '4',
        PARAMFLOW_GEMM_KERNEL: 'scalar',
        PARAMFLOW_FUSED: '1',
        PARAMFLOW_REDIS_URL: 'redis://h:6379',
        PARAMFLOW_QUEUE: 'q-1',
      }),
    ).not.toThrow();
    expect(() => checkEnvironment({})).not.toThrow();
    expect(envNumber('PARAMFLOW_CHECKPOINT_SECONDS', 10, {})).toBe(10);
    expect(envNumber('PARAMFLOW_CHECKPOINT_SECONDS', 10, { PARAMFLOW_CHECKPOINT_SECONDS: '2.5' })).toBe(2.5);
    expect(() => envNumber('PARAMFLOW_CHECKPOINT_SECONDS', 10, { PARAMFLOW_CHECKPOINT_SECONDS: '-1' })).toThrow(
      ParamflowError,
    );
  });

  it('the registry holds no variable paramflow sets for its children or a test hook', () => {
    for (const exempt of [
      'PARAMFLOW_OUT',
      'PARAMFLOW_SEED',
      'PARAMFLOW_CRASH_AT',
      'PARAMFLOW_FAULT_AT',
      'PARAMFLOW_EXPECT_NATIVE',
      'PARAMFLOW_BLAS',
    ]) {
      expect(Object.keys(ENV_VARS)).not.toContain(exempt);
    }
  });
});
