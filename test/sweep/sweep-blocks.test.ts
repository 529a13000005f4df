import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { ParamflowError } from '../../src/util/errors.js';
import type { TrialExecutor } from '../../src/sweep/trial-executor.js';
import { makeProject, SMALL_PIPELINE } from '../helpers/project.js';

/** The blocks a sweep may combine wrongly are refused as bad input (exit 2), located, before anything is written. */
async function refusal(sweep: string, executor?: TrialExecutor): Promise<ParamflowError> {
  const dir = makeProject(`${SMALL_PIPELINE}sweep:\n${sweep}`);
  const err = await runSweep({
    file: join(dir, 'pipeline.yaml'),
    overrides: [],
    sweepFlags: [],
    ...(executor ? { executor } : {}),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ParamflowError);
  expect((err as ParamflowError).exitCode).toBe(2);
  expect(existsSync(join(dir, '.paramflow', 'sweeps'))).toBe(false);
  return err as ParamflowError;
}

const SWEEP_TPE = '  tpe: {}\n  budget: { trials: 3 }\n  random:\n    params:\n      folds.k: { int: [2, 100000] }\n';
const SWEEP_PRUNE = '  grid:\n    folds.k: [2, 3]\n  prune: { method: median }\n';

/** The 1-based line of the line starting with `start` in the pipeline with this sweep. */
const lineOf = (start: string, sweep: string) =>
  `${SMALL_PIPELINE}sweep:\n${sweep}`.split('\n').findIndex((l) => l.startsWith(start)) + 1;

describe('sweep blocks checked together', () => {
  it('tpe without a budget', async () => {
    const e = await refusal('  tpe: {}\n  grid:\n    folds.k: [2, 3]\n');
    expect(e.message).toMatch(/sweep.tpe needs a budget/);
    expect(e.hint).toMatch(/budget: \{ trials: 30 \}/);
  });

  it('random without trials (and no tpe)', async () => {
    const e = await refusal('  random:\n    params:\n      seed: { int: [1, 9] }\n');
    expect(e.message).toMatch(/sweep.random needs `trials`/);
    expect(e.location?.line).toBeGreaterThan(0);
  });

  it('a tpe value out of what the stage accepts, found at an axis end before any trial runs', async () => {
    const e = await refusal(SWEEP_TPE);
    expect(e.location?.line).toBe(lineOf('      folds.k:', SWEEP_TPE));
  });

  it('pruning on an executor that cannot hear from a running trial, located at sweep.prune', async () => {
    let closed = false;
    const batch: TrialExecutor = {
      prunes: false,
      name: '--executor slurm',
      run: () => Promise.reject(new Error('never called')),
      close: async () => void (closed = true),
    };
    const e = await refusal(SWEEP_PRUNE, batch);
    expect(e.message).toMatch(/--executor slurm cannot/);
    expect(e.location).toMatchObject({ line: lineOf('  prune:', SWEEP_PRUNE) });
    expect(closed).toBe(true);
  });
});
