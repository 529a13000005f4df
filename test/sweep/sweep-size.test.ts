import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../../src/config/load-pipeline.js';
import { ParamflowError } from '../../src/util/errors.js';
import { expandTrials } from '../../src/sweep/expand.js';
import { MAX_TRIALS, mergeSweep, trialCount } from '../../src/config/sweep-spec.js';
import { builtinRegistry } from '../../src/stage-contract/registry.js';
import { printedErrors, runCli } from '../helpers/cli.js';
import { quickProject } from '../helpers/project.js';

// Issue 18 item 3: a 13 KB file with a 1000×1000×1000 grid (or the same by `--sweep`) grew
// to 5 GB and died in a V8 heap abort. The trials are counted before anything is expanded.

const list = (n: number) => `[${Array.from({ length: n }, (_, i) => i + 1).join(', ')}]`;
const projects: string[] = [];
afterAll(() => projects.forEach((p) => rmSync(p, { recursive: true, force: true })));

function project(sweep = ''): string {
  const dir = quickProject();
  projects.push(dir);
  if (sweep) appendFileSync(join(dir, 'pipeline.yaml'), sweep);
  return dir;
}

describe('a sweep over the trial cap', () => {
  it('in the file: validate and run refuse it at once, located at the key that passes the cap, exit 2, nothing written', async () => {
    const dir = project(
      `sweep:\n  grid:\n    train.batch_size: ${list(1000)}\n    train.epochs: ${list(1000)}\n    simulate.n: ${list(1000)}\n`,
    );
    const keyLine =
      readFileSync(join(dir, 'pipeline.yaml'), 'utf8')
        .split('\n')
        .findIndex((l) => l.startsWith('    train.epochs:')) + 1;
    for (const command of ['validate', 'run']) {
      const r = await runCli([command, 'pipeline.yaml'], dir);
      expect(r.exitCode, r.stderr).toBe(2);
      const [err] = printedErrors(r.stderr);
      expect(err?.head).toContain(`pipeline.yaml:${keyLine}:5: error PF_SCHEMA: the sweep has 1,000,000,000 trials`);
      expect(err?.head).toContain(`at most ${MAX_TRIALS.toLocaleString('en-US')}`);
      expect(err?.hint).toBeTruthy();
    }
    expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);
  });

  it('by --sweep flags: located on the command line', async () => {
    const dir = project();
    const r = await runCli(
      [
        'run',
        'pipeline.yaml',
        '--sweep',
        `train.epochs=${list(400).slice(1, -1).replace(/ /g, '')}`,
        '--sweep',
        `train.batch_size=${list(400).slice(1, -1).replace(/ /g, '')}`,
      ],
      dir,
    );
    expect(r.exitCode, r.stderr).toBe(2);
    const [err] = printedErrors(r.stderr);
    expect(err?.head).toMatch(/^<command line>:1:\d+: error PF_SCHEMA: the sweep has 160,000 trials/);
  });

  it('random trials count too; expandTrials itself refuses an oversized sweep without building it', () => {
    const spec = mergeSweep(
      {
        grid: { 'train.epochs': Array.from({ length: 20 }, (_, i) => i + 1) },
        random: { trials: 10_000, params: { 'train.batch_size': { int: [1, 512] } } },
      },
      [],
    );
    expect(trialCount(spec!)).toBe(200_000);
    expect(() => expandTrials(spec!, 0)).toThrow(ParamflowError);
    expect(trialCount({ grid: { a: [1, 2], b: [1, 2, 3] } })).toBe(6);
  });

  it('at the cap a sweep still expands to every trial: distinct values whose short ids collide stay two trials', () => {
    const spec = mergeSweep(
      { grid: { a: Array.from({ length: 1000 }, (_, i) => i), b: Array.from({ length: 100 }, (_, i) => i) } },
      [],
    );
    expect(trialCount(spec!)).toBe(MAX_TRIALS);
    expect(expandTrials(spec!, 0)).toHaveLength(MAX_TRIALS);
  });
});

describe('per-trial validation parses the file once', () => {
  it("one load's overrides never reach the next load of the same file", async () => {
    const dir = project();
    const file = join(dir, 'pipeline.yaml');
    const registry = await builtinRegistry();
    const a = await loadPipeline(file, {
      registry,
      env: {},
      overrides: [
        { text: 'simulate.n=123' },
        { text: 'simulate.x.points=50' },
        { text: 'simulate.params.A.uniform.0=0.7' },
      ],
    });
    const b = await loadPipeline(file, { registry, env: {}, overrides: [] });
    expect(a.stages.find((s) => s.name === 'simulate')!.with.n).toBe(123);
    expect(b.stages.find((s) => s.name === 'simulate')!.with.n).toBe(1000);
    expect(a.stages.find((s) => s.name === 'simulate')!.with).toMatchObject({
      x: { points: 50 },
      params: { A: { uniform: [0.7, 2] } },
    });
    expect(b.stages.find((s) => s.name === 'simulate')!.with).toMatchObject({
      x: { points: 200 },
      params: { A: { uniform: [0.5, 2] } },
    });
  });
});
