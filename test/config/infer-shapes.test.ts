import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/config/load-pipeline.js';
import { InputErrors, ParamflowError } from '../../src/util/errors.js';
import { builtinRegistry, type StageRegistry } from '../../src/stage-contract/registry.js';
import { SMALL_PIPELINE } from '../helpers/project.js';

// Shapes flow from stage to stage at validation (src/config/infer-shapes.ts): what the
// params fix is checked before anything runs; what only data can tell waits for the run.

let tmp: string;
let registry: StageRegistry;
let count = 0;
beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'pf-shapes-')));
  registry = await builtinRegistry();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function project(pipeline: string, files: Record<string, string> = {}): string {
  const dir = join(tmp, `p${count++}`);
  mkdirSync(join(dir, '.paramflow'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'pipeline.yaml'), pipeline);
  return join(dir, 'pipeline.yaml');
}

async function errorsOf(file: string, sets: string[] = []): Promise<ParamflowError[]> {
  try {
    await loadPipeline(file, { registry, env: {}, overrides: sets.map((text) => ({ text })) });
  } catch (err) {
    expect(err).toBeInstanceOf(ParamflowError);
    return err instanceof InputErrors ? [...err.errors] : [err as ParamflowError];
  }
  return [];
}

// A stage module that passes targets through; `extra` adds members to its definition.
const passThrough = (extra = '') =>
  `export default { name: 'pass', version: '1', schema: { type: 'object', properties: { rows: { type: 'integer' } } }, inputs: ['targets'],
  outputs: [{ name: 'targets', kind: 'ndarray' }], run: (inputs) => ({ outputs: { targets: inputs.targets } }),${extra} };\n`;
const throughModule = (folds = 'with: { k: 4 }') =>
  SMALL_PIPELINE.replace(
    / {2}folds:[\s\S]*$/,
    `  pass:\n    uses: ./pass.mjs\n    needs: [noise]\n    with: { rows: 2 }\n  folds:\n    uses: split-folds\n    needs: [pass]\n    ${folds}\n`,
  );

describe('shape inference at validation', () => {
  it('checks a --set value against the shapes upstream, blamed on the command line', async () => {
    const file = project(SMALL_PIPELINE);
    expect(await errorsOf(file, ['folds.k=64'])).toEqual([]);
    const [e, ...rest] = await errorsOf(file, ['folds.k=65']);
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ code: 'PF_SHAPE', location: { file: '<command line>' } });
    expect(e!.message).toBe(
      'stage `folds`: k = 65 folds need at least 65 datasets, but there are 64 datasets in `targets`',
    );
    // The holdout takes round(0.5 · 64) = 32 datasets: now the holdout is what to change.
    const [h] = await errorsOf(file, ['folds.k=40', 'folds.holdout=0.5']);
    expect(h!.message).toMatch(/32 datasets outside the holdout \(64 in `targets`, 32 held out\)/);
    expect(h!.hint).toMatch(/^lower k or holdout/);
  });

  it('leaves what no stage declares to the run: a module without inferShapes makes its outputs unknown', async () => {
    const file = project(throughModule('with: { k: 100 }'), { 'pass.mjs': passThrough() });
    expect(await errorsOf(file)).toEqual([]);
  });

  it("takes a stage module's inferShapes: its outputs flow on and its problems are located in its with:", async () => {
    const shapes = ` inferShapes: (params, inputs) => ({ outputs: { targets: { shape: [params.rows, inputs.targets.shape[1]] } },
      problems: params.rows > inputs.targets.shape[0] ? [{ pointer: '/rows', message: 'more rows than \`targets\` has', hint: 'fewer' }] : [] }),`;
    const file = project(throughModule(), { 'pass.mjs': passThrough(shapes) });
    const [e] = await errorsOf(file);
    expect(e).toMatchObject({ code: 'PF_SHAPE', location: { file, line: 26 } });
    expect(e!.message).toBe(
      'stage `folds`: k = 4 folds need at least 4 datasets, but there are 2 datasets in `targets`',
    );
    expect(e!.hint).toBe('lower k, or simulate more datasets (`targets` comes from stage `pass`)');
    const [r] = await errorsOf(file, ['pass.rows=100']);
    expect(r).toMatchObject({
      code: 'PF_SHAPE',
      message: 'stage `pass`: more rows than `targets` has',
      hint: 'fewer (`targets` comes from stage `noise`)',
    });
  });

  it('treats dimensions that are not counts as unknown, and a throwing inferShapes as a broken module (exit 2)', async () => {
    const odd = project(throughModule(), {
      'pass.mjs': passThrough(` inferShapes: () => ({ outputs: { targets: { shape: [-1, 'x'] } } }),`),
    });
    expect(await errorsOf(odd)).toEqual([]);
    const throwing = project(throughModule(), {
      'pass.mjs': passThrough(` inferShapes: () => { throw new Error('oops'); },`),
    });
    const [e] = await errorsOf(throwing);
    expect(e).toMatchObject({ code: 'PF_UNKNOWN_STAGE_TYPE', location: { file: throwing, line: 20 } });
    expect(e!.message).toMatch(/inferShapes failed: oops/);
    expect(e!.exitCode).toBe(2);
    const notAFunction = project(throughModule(), { 'pass.mjs': passThrough(' inferShapes: 3,') });
    expect((await errorsOf(notAFunction))[0]!.message).toMatch(/has a `inferShapes` that is not a function/);
  });

  it('counts the targets of a custom model by its parameters', async () => {
    const model = `export default (x, p) => p.a * x + p.b;\n`;
    const pipeline = `name: custom\nstages:\n  simulate:\n    uses: simulate\n    with:\n      n: 20\n      model: ./line.mjs\n      x: { start: 0, stop: 1, points: 5 }\n      params: { a: { uniform: [0, 1] }, b: { fixed: 0 } }\n  folds:\n    uses: split-folds\n    needs: [simulate]\n  train:\n    uses: train\n    needs: [simulate, folds]\n    with:\n      layers: [{ dense: { units: 3 } }]\n`;
    const file = project(pipeline, { 'line.mjs': model });
    const [e] = await errorsOf(file);
    expect(e).toMatchObject({ code: 'PF_SHAPE', location: { file, line: 17 } });
    expect(e!.hint).toMatch(/^set units: 2 in layers\[0\]/);
    expect(await errorsOf(file, ['train.layers.0.dense.units=2'])).toEqual([]);
  });
});
