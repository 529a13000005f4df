import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Options } from 'ajv';
import { packageRoot } from '../util/package-root.js';

// What the schema registry compiles, shared with the build step that precompiles it
// (scripts/compile-schemas.mjs): the same options, files and ids either way.

export const BASE_ID = 'https://paramflow.dev/schemas/';
export const STRUCTURAL_ID = `${BASE_ID}pipeline.structural.json`;
export const AJV_OPTIONS: Options = {
  allErrors: true,
  useDefaults: true,
  strict: true,
  verbose: true,
  allowUnionTypes: true,
};

/** Every schema under schemas/: path relative to it → parsed schema. */
export function schemaFiles(): Map<string, object> {
  const root = join(packageRoot(), 'schemas');
  const list = (rel: string): string[] =>
    readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) return list(child);
      return e.name.endsWith('.schema.json') ? [child] : [];
    });
  return new Map(
    list('')
      .sort()
      .map((rel) => [rel, JSON.parse(readFileSync(join(root, rel), 'utf8')) as object]),
  );
}

/**
 * The pipeline schema without its per-stage `with:` branches: editors use the full
 * file, the loader validates each stage's `with:` itself (so module stages work and
 * each error is reported once).
 */
export function structuralSchema(pipeline: object): object {
  const full = structuredClone(pipeline) as { definitions: { stage: { allOf?: unknown } } };
  delete full.definitions.stage.allOf;
  return { ...full, $id: STRUCTURAL_ID };
}

/** A digest of the schema files: precompiled validators are used only while it matches. */
export function schemaDigest(files: Map<string, object>): string {
  const h = createHash('sha256');
  for (const [rel, schema] of files) h.update(rel).update('\0').update(JSON.stringify(schema)).update('\0');
  return h.digest('hex');
}
