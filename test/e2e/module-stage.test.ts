import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { sha256 } from '../../src/hash/sha256.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY_SIMULATE } from '../helpers/command-scripts.js';
import { printedErrors, snapshotTree } from '../helpers/cli.js';
import { makeProject, paramflow, REPO, runJson, runRecord } from '../helpers/project.js';

// Type annotations on purpose: Node 20 cannot run this without tsx.
const SCALE_TS = `interface Params { factor: number }
interface Arr { kind: 'ndarray'; dtype: 'float32'; shape: number[]; data: Float32Array }
export default {
  name: 'scale',
  version: '1',
  schema: { type: 'object', additionalProperties: false, properties: { factor: { type: 'number', default: 1 } } },
  inputs: ['Y'],
  outputs: [{ name: 'Z', kind: 'ndarray' }],
  run(inputs: { Y: Arr }, params: Params) {
    const data = inputs.Y.data.map((v) => v * params.factor);
    const mean = data.reduce((a, v) => a + v, 0) / data.length;
    return { outputs: { Z: { kind: 'ndarray', dtype: 'float32', shape: inputs.Y.shape, data } }, metrics: { z_mean: mean } };
  },
};
`;

const pipeline = (uses: string, withText = '{ factor: 2 }') =>
  `name: mod\nseed: 3\nstages:\n${TINY_SIMULATE}  scale:\n    uses: ${uses}\n    needs: [simulate]\n    with: ${withText}\n`;

function moduleProject(uses: string, files: Record<string, string>, withText?: string): string {
  const dir = makeProject(pipeline(uses, withText));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('stage modules', () => {
  it('a .ts module runs, caches, and re-runs when its file changes, and not otherwise', async () => {
    const dir = moduleProject('./stages/scale.ts', {
      'stages/scale.ts': SCALE_TS,
      'stages/other.ts': '// unrelated\n',
    });
    const first = await runJson(dir);
    expect(first.executed.sort()).toEqual(['scale', 'simulate']);
    const rec = await runRecord(dir, first.runId);
    expect(rec.stages.scale!.type).toBe('scale');
    expect(Object.keys(rec.stages.scale!.details.files)).toEqual(['stages/scale.ts']);
    expect(rec.stages.scale!.metrics!.z_mean).toBeGreaterThan(0);
    expect(rec.metrics.z_mean).toBe(rec.stages.scale!.metrics!.z_mean);

    expect((await runJson(dir)).executed).toEqual([]);
    writeFileSync(join(dir, 'stages', 'other.ts'), '// edited, but not the module\n');
    expect((await runJson(dir)).executed).toEqual([]);

    writeFileSync(join(dir, 'stages', 'scale.ts'), SCALE_TS.replace('v * params.factor', 'v * params.factor + 0'));
    const status = JSON.parse(String((await paramflow(dir, ['status', 'pipeline.yaml', '--json'])).stdout)) as {
      stages: { stage: string; reasons: string[] }[];
    };
    expect(status.stages.find((s) => s.stage === 'scale')!.reasons).toEqual(['file stages/scale.ts changed']);
    expect((await runJson(dir)).executed).toEqual(['scale']);
    expect((await runJson(dir, ['--set', 'scale.factor=3'])).executed).toEqual(['scale']);
  });

  it('is not imported again while its file is unchanged, unless the stage runs', async () => {
    // The module counts its imports in a file: a cached no-op run must not add one.
    const counting = `import { appendFileSync } from 'node:fs';\nappendFileSync('imports.log', 'i');\n${SCALE_TS}`;
    const dir = moduleProject('./stages/scale.ts', { 'stages/scale.ts': counting });
    const imports = () => readFileSync(join(dir, 'imports.log'), 'utf8').length;
    expect((await runJson(dir)).executed.sort()).toEqual(['scale', 'simulate']);
    expect(imports()).toBe(1);
    expect(readdirSync(join(dir, '.paramflow', 'modules'))).toEqual([`${sha256(counting)}.json`]);
    expect((await runJson(dir)).executed).toEqual([]);
    expect((await paramflow(dir, ['validate', 'pipeline.yaml'])).exitCode).toBe(0);
    expect(imports()).toBe(1);
    // The stage runs: now the module is needed.
    expect((await runJson(dir, ['--set', 'scale.factor=5'])).executed).toEqual(['scale']);
    expect(imports()).toBe(2);
  });

  it('a recorded contract that a changed helper file made stale fails the stage once, then is re-recorded', async () => {
    const main = SCALE_TS.replace(
      "schema: { type: 'object', additionalProperties: false, properties: { factor: { type: 'number', default: 1 } } }",
      'schema',
    ).replace('interface Params', "import { schema } from './schema.ts';\ninterface Params");
    const schema = (extra: string) =>
      `export const schema = { type: 'object', additionalProperties: false, properties: { factor: { type: 'number', default: 1 }${extra} } };\n`;
    const dir = moduleProject('./stages/scale.ts', { 'stages/scale.ts': main, 'stages/schema.ts': schema('') });
    await runJson(dir);
    writeFileSync(join(dir, 'stages', 'schema.ts'), schema(", offset: { type: 'number', default: 0 }"));
    const stale = await paramflow(dir, ['run', 'pipeline.yaml', '--set', 'scale.factor=7']);
    expect(stale.exitCode).toBe(1);
    expect(String(stale.stderr)).toMatch(/stage module "\.\/stages\/scale\.ts" no longer declares what was recorded/);
    expect((await runJson(dir, ['--set', 'scale.factor=7'])).executed).toEqual(['scale']);
  });

  it('a .mjs module importing defineStage from paramflow runs too', async () => {
    const js = `import { defineStage, ndarray } from 'paramflow';
export default defineStage({
  name: 'halve', version: '1',
  schema: { type: 'object', properties: { factor: { type: 'number' } }, required: ['factor'] },
  inputs: ['Y'], outputs: [{ name: 'H', kind: 'ndarray' }],
  run: (inputs, params) => ({ outputs: { H: ndarray('float32', inputs.Y.shape, inputs.Y.data.map((v) => v / params.factor)) } }),
});
`;
    const dir = moduleProject('./halve.mjs', { 'halve.mjs': js });
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(REPO, join(dir, 'node_modules', 'paramflow'));
    const r = await runJson(dir);
    expect(r.executed.sort()).toEqual(['scale', 'simulate']);
  });

  it('npm:NAME loads an installed package; its version is in the key', async () => {
    const dir = moduleProject('npm:pf-scale', {
      'node_modules/pf-scale/package.json': JSON.stringify({
        name: 'pf-scale',
        version: '1.2.0',
        type: 'module',
        exports: { '.': { import: './index.js' } },
      }),
      'node_modules/pf-scale/index.js': SCALE_TS.replace(/: \{ Y: Arr \}|: Params|interface [^\n]*\n/g, '').replace(
        '(v)',
        '(v)',
      ),
    });
    const first = await runJson(dir);
    expect(first.executed.sort()).toEqual(['scale', 'simulate']);
    expect((await runRecord(dir, first.runId)).stages.scale!.details.env).toEqual({ package: 'pf-scale@1.2.0' });
    expect((await runJson(dir)).executed).toEqual([]);
  });

  it.each<{
    what: string;
    uses: string;
    files: Record<string, string>;
    withText: string | undefined;
    code: string;
    message: RegExp;
    line: number;
  }>([
    {
      what: 'a missing module file',
      uses: './stages/nope.ts',
      files: {},
      withText: undefined,
      code: 'PF_FILE_NOT_FOUND',
      message: /stage module "\.\/stages\/nope\.ts" not found/,
      line: 12,
    },
    {
      what: 'a module without a stage definition',
      uses: './m.ts',
      files: { 'm.ts': 'export const x: number = 1;\n' },
      withText: undefined,
      code: 'PF_UNKNOWN_STAGE_TYPE',
      message: /does not export a stage definition/,
      line: 12,
    },
    {
      what: 'a definition without outputs',
      uses: './m.ts',
      files: { 'm.ts': SCALE_TS.replace("outputs: [{ name: 'Z', kind: 'ndarray' }]", 'outputs: []') },
      withText: undefined,
      code: 'PF_UNKNOWN_STAGE_TYPE',
      message: /needs `outputs`/,
      line: 12,
    },
    {
      what: 'a module that throws on import',
      uses: './m.ts',
      files: { 'm.ts': 'throw new Error("boom at import");\n' },
      withText: undefined,
      code: 'PF_UNKNOWN_STAGE_TYPE',
      message: /failed to load: boom at import/,
      line: 12,
    },
    {
      what: 'a module outside the project',
      uses: '../../outside.ts',
      files: {},
      withText: undefined,
      code: 'PF_PATH_ESCAPE',
      message: /outside the project/,
      line: 12,
    },
    {
      what: "a param of the wrong type for the module's schema",
      uses: './stages/scale.ts',
      files: { 'stages/scale.ts': SCALE_TS },
      withText: '{ factor: two }',
      code: 'PF_SCHEMA',
      message: /factor/,
      line: 14,
    },
    {
      what: 'a package that is not installed',
      uses: 'npm:paramflow-stage-nothere',
      files: {},
      withText: undefined,
      code: 'PF_UNKNOWN_STAGE_TYPE',
      message: /stage package `paramflow-stage-nothere` is not installed/,
      line: 12,
    },
  ])('$what: a located error, exit 2, nothing written', async ({ uses, files, withText, code, message, line }) => {
    const dir = moduleProject(uses, files, withText);
    const before = await snapshotTree(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(r.exitCode, String(r.stderr)).toBe(2);
    const [err] = printedErrors(String(r.stderr));
    expect(err!.head).toMatch(new RegExp(`^pipeline\\.yaml:${line}:\\d+: error ${code}: `));
    expect(err!.head).toMatch(message);
    expect(err!.hint).toBeTruthy();
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
  });
});
