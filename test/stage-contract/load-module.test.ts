import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { loadStageFile } from '../../src/stage-contract/load-module.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-modules-'));
const at = { file: 'pipeline.yaml', line: 4, column: 11 };
const GOOD = { name: 'ok', version: '1', schema: { type: 'object' }, outputs: [{ name: 'out', kind: 'json' }] };

async function load(def: Record<string, unknown>, file = `m${Math.random().toString(36).slice(2)}.mjs`) {
  writeFileSync(join(dir, file), `export default { ...${JSON.stringify(def)}, run: () => ({ outputs: {} }) };\n`);
  return loadStageFile(join(dir, file), `./${file}`, at);
}

describe('stage modules', () => {
  it('loads a definition and defaults its inputs to none', async () => {
    const { def, file } = await load(GOOD);
    expect(def.name).toBe('ok');
    expect(def.inputs).toEqual([]);
    expect(file).toMatch(/\.mjs$/);
  });

  it('re-imports a file whose content changed', async () => {
    const name = 'edited.mjs';
    expect((await load({ ...GOOD, version: '1' }, name)).def.version).toBe('1');
    expect((await load({ ...GOOD, version: '2' }, name)).def.version).toBe('2');
  });

  it.each([
    [{ ...GOOD, name: 'Not Kebab' }, /needs a `name` in kebab-case/],
    [{ ...GOOD, version: '' }, /needs a `version`/],
    [{ ...GOOD, schema: 'stages/x.json' }, /needs a `schema`: the JSON Schema \(an object\)/],
    [
      { ...GOOD, outputs: [{ name: 'manifest', kind: 'json' }] },
      /declares output `manifest`, a name the cache reserves/,
    ],
    [{ ...GOOD, outputs: [{ name: 'o', kind: 'table' }] }, /declares output `o` of kind "table"/],
    [{ ...GOOD, inputs: 'X' }, /has `inputs` that are not a list/],
    [{ ...GOOD, usesBackend: true }, /TensorFlow stages are built in only/],
  ])('refuses an invalid definition, located at uses: (%#)', async (def, message) => {
    const err = await load(def).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ParamflowError);
    expect((err as ParamflowError).code).toBe('PF_UNKNOWN_STAGE_TYPE');
    expect((err as ParamflowError).message).toMatch(message);
    expect((err as ParamflowError).location).toEqual(at);
    expect((err as ParamflowError).hint).toMatch(/defineStage/);
  });
});
