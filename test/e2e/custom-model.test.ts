import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { printedErrors, snapshotTree } from '../helpers/cli.js';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

const pipeline = (model: string, params = '{ B: { fixed: 2 }, A: { fixed: 3 } }') => `name: custom
seed: 1
stages:
  simulate:
    uses: simulate
    with:
      n: 2
      model: ${model}
      x: { start: 0, stop: 1, points: 3 }
      params: ${params}
      dtype: float64
`;

function project(model: string, files: Record<string, string>, params?: string): string {
  const dir = makeProject(pipeline(model, params));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function npyValues(file: string): number[] {
  const b = readFileSync(file);
  return [...new Float64Array(b.buffer.slice(b.byteOffset + 10 + b.readUInt16LE(8), b.byteOffset + b.length))];
}

describe('custom curve models for simulate', () => {
  it('a bare TypeScript function: parameters in alphabetical order; editing the file re-runs simulate', async () => {
    const model = 'export default (x: number, p: { A: number; B: number }): number => p.A + p.B * x;\n';
    const dir = project('./models/line.ts', { 'models/line.ts': model });
    const first = await runJson(dir);
    const rec = await runRecord(dir, first.runId);
    expect(Object.keys(rec.stages.simulate!.details.files)).toEqual(['models/line.ts']);
    const entry = join(dir, '.paramflow', 'cache', rec.stages.simulate!.key);
    expect(npyValues(join(entry, 'Y.npy'))).toEqual([3, 4, 5, 3, 4, 5]);
    expect(npyValues(join(entry, 'targets.npy'))).toEqual([3, 2, 3, 2]);

    expect((await runJson(dir)).executed).toEqual([]);
    writeFileSync(join(dir, 'models', 'line.ts'), model.replace('p.B * x', '2 * p.B * x'));
    const again = await runJson(dir);
    expect(again.executed).toEqual(['simulate']);
    expect(
      npyValues(join(dir, '.paramflow', 'cache', (await runRecord(dir, again.runId)).stages.simulate!.key, 'Y.npy')),
    ).toEqual([3, 5, 7, 3, 5, 7]);
  });

  it('defineModel() fixes the targets column order, and its parameters are checked against the priors', async () => {
    const model = `export default { params: ['B', 'A'], formula: 'y = A + B·x', evaluate: (x, p) => p.A + p.B * x };\n`;
    const dir = project('./curve.mjs', { 'curve.mjs': model });
    const rec = await runRecord(dir, (await runJson(dir)).runId);
    expect(npyValues(join(dir, '.paramflow', 'cache', rec.stages.simulate!.key, 'targets.npy'))).toEqual([2, 3, 2, 3]);

    const bad = project('./curve.mjs', { 'curve.mjs': model }, '{ A: { fixed: 3 }, C: { fixed: 1 } }');
    const r = await paramflow(bad, ['validate', 'pipeline.yaml']);
    expect(r.exitCode).toBe(2);
    const heads = printedErrors(String(r.stderr)).map((e) => e.head);
    expect(heads).toEqual([
      expect.stringMatching(/^pipeline\.yaml:10:\d+: error PF_SCHEMA: model \.\/curve\.mjs has no parameter C$/),
      expect.stringMatching(/^pipeline\.yaml:10:\d+: error PF_SCHEMA: model \.\/curve\.mjs needs a prior for B$/),
    ]);
  });

  it.each<{ what: string; model: string; files: Record<string, string>; message: RegExp }>([
    {
      what: 'a missing model file',
      model: './models/nope.ts',
      files: {},
      message: /model file "\.\/models\/nope\.ts" not found/,
    },
    {
      what: 'a module that exports no model',
      model: './m.ts',
      files: { 'm.ts': 'export const k = 1;\n' },
      message: /curve model "\.\/m\.ts" exports no model/,
    },
    { what: 'a model outside the project', model: '../../elsewhere.ts', files: {}, message: /outside the project/ },
    {
      what: 'a file that is not a module',
      model: './m.txt',
      files: { 'm.txt': '' },
      message: /must be one of|does not match|\.ts/,
    },
  ])('$what: located at model:, exit 2, nothing written', async ({ model, files, message }) => {
    const dir = project(model, files);
    const before = await snapshotTree(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(r.exitCode, String(r.stderr)).toBe(2);
    const [err] = printedErrors(String(r.stderr));
    expect(err!.head).toMatch(/^pipeline\.yaml:8:14: error PF_/);
    expect(err!.head).toMatch(message);
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
  });
});
