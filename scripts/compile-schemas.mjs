#!/usr/bin/env node
// Build step (after tsc): precompiles the schema validators a run uses with Ajv's standalone code
// generation into dist/schemas/validators.cjs, so runs skip compiling them (see
// src/config/schema-registry.ts, which falls back to compiling when this file is missing
// or the schemas changed since).
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AJV_OPTIONS,
  BASE_ID,
  schemaDigest,
  schemaFiles,
  STRUCTURAL_ID,
  structuralSchema,
} from '../dist/src/config/schema-sources.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = schemaFiles();
const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
for (const [rel, schema] of files) ajv.addSchema(schema, BASE_ID + rel);
ajv.addSchema(structuralSchema(files.get('pipeline.schema.json')));
// What runs validate with: the structural pipeline schema and each stage's. The full
// pipeline.schema.json (for editors: every stage's `with:` inline) would be over half the
// file, which every run loads; the rare caller of it compiles it on first use instead.
const ids = [
  ...[...files.keys()].filter((rel) => rel !== 'pipeline.schema.json').map((rel) => BASE_ID + rel),
  STRUCTURAL_ID,
];
const names = Object.fromEntries(ids.map((id, i) => [id, `v${i}`]));
const code = standalone.default(ajv, Object.fromEntries(ids.map((id) => [names[id], id])));
const out = join(ROOT, 'dist', 'schemas', 'validators.cjs');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${code}\nexports.ids = ${JSON.stringify(names)};\nexports.digest = ${JSON.stringify(schemaDigest(files))};\n`,
);
