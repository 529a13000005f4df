import { Ajv, type ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AJV_OPTIONS,
  BASE_ID,
  schemaDigest,
  schemaFiles,
  STRUCTURAL_ID,
  structuralSchema,
} from '../../src/config/schema-sources.js';
import { REPO } from '../helpers/project.js';

// The build's precompiled validators (dist/schemas/validators.cjs) must answer exactly as
// validators compiled at run time would, and carry the digest of the schemas they came from.
const built = createRequire(import.meta.url)(join(REPO, 'dist', 'schemas', 'validators.cjs')) as {
  digest: string;
  ids: Record<string, string>;
  [k: string]: unknown;
};
const files = schemaFiles();
const ajv = new Ajv(AJV_OPTIONS);
for (const [rel, schema] of files) ajv.addSchema(schema, BASE_ID + rel);
ajv.addSchema(structuralSchema(files.get('pipeline.schema.json')!));

const quick = parse(readFileSync(join(REPO, 'pipelines', 'quick.yaml'), 'utf8')) as {
  stages: Record<string, { uses: string; with?: Record<string, unknown> }>;
};
const errorsOf = (v: ValidateFunction, data: unknown) => {
  const copy = structuredClone(data);
  v(copy);
  return {
    data: copy,
    errors: (v.errors ?? []).map((e) => ({
      path: e.instancePath,
      keyword: e.keyword,
      params: e.params,
      message: e.message,
    })),
  };
};

describe('precompiled schema validators', () => {
  it('were built from the current schemas', () => {
    expect(built.digest).toBe(schemaDigest(files));
    // Those a run validates with; not the editors' full pipeline.schema.json (compiled on use).
    expect(Object.keys(built.ids).sort()).toEqual(
      [...[...files.keys()].filter((r) => r !== 'pipeline.schema.json').map((r) => BASE_ID + r), STRUCTURAL_ID].sort(),
    );
  });

  it('answer as run-time compiled ones do, defaults included, for valid and broken inputs', () => {
    const cases: [string, unknown][] = [
      [STRUCTURAL_ID, quick],
      [STRUCTURAL_ID, { name: 1, stages: [] }],
    ];
    for (const stage of Object.values(quick.stages)) {
      const id = `${BASE_ID}stages/${stage.uses}.schema.json`;
      cases.push([id, stage.with ?? {}], [id, { ...(stage.with ?? {}), nope: true, n: -1, epochs: 'x' }], [id, null]);
    }
    for (const [id, data] of cases) {
      expect(errorsOf(built[built.ids[id]!] as ValidateFunction, data), id).toEqual(errorsOf(ajv.getSchema(id)!, data));
    }
  });
});
