import { Ajv } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from '../helpers/project.js';

// What an editor does with the `# yaml-language-server: $schema=…` line: load the full
// pipeline schema (with each built-in stage's `with:` schema by reference) and validate.
function editorValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const dir = join(REPO, 'schemas', 'stages');
  for (const f of readdirSync(dir)) ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object);
  return ajv.compile(JSON.parse(readFileSync(join(REPO, 'schemas', 'pipeline.schema.json'), 'utf8')) as object);
}

describe('pipeline.schema.json for editors', () => {
  const validate = editorValidator();
  const pipelines = readdirSync(join(REPO, 'pipelines')).filter((f) => f.endsWith('.yaml'));

  it.each(pipelines)('accepts the shipped pipeline %s, whose first line points at the schema', (file) => {
    const text = readFileSync(join(REPO, 'pipelines', file), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/pipeline.schema.json');
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("reaches into a stage's with: through its uses", () => {
    const bad = { name: 'x', stages: { s: { uses: 'split-folds', with: { k: 1 } } } };
    expect(validate(bad)).toBe(false);
    expect(validate.errors!.some((e) => e.instancePath === '/stages/s/with/k')).toBe(true);
  });
});
