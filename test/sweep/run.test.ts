import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateOverrides } from '../../src/config/locate-overrides.js';
import { run } from '../../src/sweep/run.js';
import { ParamflowError } from '../../src/util/errors.js';
import { makeProject, SMALL_PIPELINE } from '../helpers/project.js';

// `run` is what `paramflow run` does, as a library call: the CLI only formats what it returns.

describe('run (the library API behind `paramflow run`)', () => {
  it('runs a pipeline here and returns its summary; a rerun is all cached', async () => {
    const file = join(makeProject(SMALL_PIPELINE), 'pipeline.yaml');
    const first = await run({ file });
    expect(first.kind).toBe('run');
    if (first.kind !== 'run') return;
    expect(first.run.status).toBe('FINISHED');
    expect(first.run.executed.sort()).toEqual(['folds', 'noise', 'simulate']);
    const again = await run({ file });
    expect(again.kind === 'run' && again.run.executed).toEqual([]);
  });

  it('refuses an option it does not know (a misspelt one would be ignored), naming the known ones', async () => {
    const file = join(makeProject(SMALL_PIPELINE), 'pipeline.yaml');
    const err = (await run({ file, set: ['simulate.n=300'] } as never).catch((e: unknown) => e)) as ParamflowError;
    expect(err).toBeInstanceOf(ParamflowError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('run(): unknown option set');
    expect(err.hint).toMatch(/overrides: \[\{ text: 'simulate.n=300' \}\]/);
  });

  it('runs the sweep that --sweep values make, and returns the sweep', async () => {
    const file = join(makeProject(SMALL_PIPELINE), 'pipeline.yaml');
    const lines: string[] = [];
    const result = await run({
      file,
      sweepFlags: locateOverrides(['folds.k=2,3'], [], '--sweep'),
      log: (l) => lines.push(l),
    });
    expect(result.kind).toBe('sweep');
    if (result.kind !== 'sweep') return;
    expect(result.sweep.status).toBe('FINISHED');
    expect(result.sweep.trials.map((t) => t.values)).toEqual([{ 'folds.k': 2 }, { 'folds.k': 3 }]);
    expect(lines.length).toBeGreaterThan(0);
  }, 120_000);
});
