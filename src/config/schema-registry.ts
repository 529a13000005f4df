import type { Ajv, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { AJV_OPTIONS, BASE_ID, schemaDigest, schemaFiles, STRUCTURAL_ID, structuralSchema } from './schema-sources.js';

// Validators for the schemas under schemas/. `npm run build` precompiles them
// (scripts/compile-schemas.mjs → dist/schemas/validators.cjs) so a run does not spend
// a few hundred milliseconds compiling; without that file, or when the schemas changed
// since, one Ajv instance compiles them lazily, once. Ajv itself (~40 ms of module
// loading) is required only then: runs on precompiled validators never load it.

interface Precompiled {
  digest: string;
  ids: Record<string, string>;
  [name: string]: unknown;
}

let ajv: Ajv | undefined;
let files: Map<string, object> | undefined;
let precompiled: Precompiled | null | undefined;
const compiled = new Map<string, ValidateFunction>();

function sources(): Map<string, object> {
  return (files ??= schemaFiles());
}

function instance(): Ajv {
  if (ajv) return ajv;
  const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  ajv = new AjvClass(AJV_OPTIONS);
  for (const [rel, schema] of sources()) ajv.addSchema(schema, BASE_ID + rel);
  return ajv;
}

function fromBuild(id: string): ValidateFunction | undefined {
  if (precompiled === undefined) {
    try {
      const mod = createRequire(import.meta.url)(
        join(packageRoot(), 'dist', 'schemas', 'validators.cjs'),
      ) as Precompiled;
      precompiled = mod.digest === schemaDigest(sources()) ? mod : null;
    } catch {
      precompiled = null;
    }
  }
  const name = precompiled?.ids[id];
  return name ? (precompiled![name] as ValidateFunction) : undefined;
}

function validator(id: string, compile: () => ValidateFunction | undefined): ValidateFunction {
  let v = compiled.get(id);
  if (!v) {
    v = fromBuild(id) ?? compile();
    if (!v) throw new Error(`paramflow: no schema ${id}`);
    compiled.set(id, v);
  }
  return v;
}

/** A validator for a schema file under schemas/ (e.g. `stages/simulate.schema.json`). */
export function schemaValidator(relPath: string): ValidateFunction {
  const id = BASE_ID + relPath;
  return validator(id, () => instance().getSchema(id));
}

/** Register a schema object that does not live under schemas/ (user stage modules). */
export function registerSchema(id: string, schema: object): ValidateFunction {
  const a = instance();
  if (!a.getSchema(id)) a.addSchema(schema, id);
  return validator(id, () => a.getSchema(id));
}

/** The pipeline schema without its per-stage `with:` branches (see structuralSchema). */
export function structuralPipelineValidator(): ValidateFunction {
  return validator(STRUCTURAL_ID, () => {
    const a = instance();
    if (!a.getSchema(STRUCTURAL_ID)) a.addSchema(structuralSchema(sources().get('pipeline.schema.json')!));
    return a.getSchema(STRUCTURAL_ID);
  });
}
