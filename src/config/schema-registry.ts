import { Ajv, type ValidateFunction } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

// One Ajv instance holding every schema under schemas/, compiled lazily and once.
let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

const BASE_ID = 'https://paramflow.dev/schemas/';

function instance(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true, allowUnionTypes: true });
  const root = join(packageRoot(), 'schemas');
  for (const rel of listJson(root, '')) {
    ajv.addSchema(JSON.parse(readFileSync(join(root, rel), 'utf8')) as object, BASE_ID + rel);
  }
  return ajv;
}

function listJson(root: string, rel: string): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return listJson(root, child);
    return e.name.endsWith('.schema.json') ? [child] : [];
  });
}

/** A validator for a schema file under schemas/ (e.g. `stages/simulate.schema.json`). */
export function schemaValidator(relPath: string): ValidateFunction {
  let v = compiled.get(relPath);
  if (!v) {
    v = instance().getSchema(BASE_ID + relPath);
    if (!v) throw new Error(`paramflow: no schema ${relPath} under schemas/`);
    compiled.set(relPath, v);
  }
  return v;
}

/** Register a schema object that does not live under schemas/ (user stage modules). */
export function registerSchema(id: string, schema: object): ValidateFunction {
  const a = instance();
  if (!a.getSchema(id)) a.addSchema(schema, id);
  return schemaValidator(id.startsWith(BASE_ID) ? id.slice(BASE_ID.length) : id);
}

/**
 * The pipeline schema without its per-stage `with:` branches: editors use the full
 * file, the loader validates each stage's `with:` itself (so module stages work and
 * each error is reported once).
 */
export function structuralPipelineValidator(): ValidateFunction {
  const id = `${BASE_ID}pipeline.structural.json`;
  const a = instance();
  if (!a.getSchema(id)) {
    const full = JSON.parse(readFileSync(join(packageRoot(), 'schemas', 'pipeline.schema.json'), 'utf8')) as {
      definitions: { stage: { allOf?: unknown } };
    };
    delete full.definitions.stage.allOf;
    a.addSchema({ ...full, $id: id });
  }
  return a.getSchema(id)!;
}
