import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A stage's `with:` schema compiled the way paramflow compiles it (strict, defaults filled). */
export function compileStageSchema(name: string): ValidateFunction {
  const file = fileURLToPath(new URL(`../../schemas/stages/${name}.schema.json`, import.meta.url));
  const schema = JSON.parse(readFileSync(file, 'utf8')) as object;
  // strict: true turns every strict-mode warning (unknown keyword, loose tuple, missing type) into a throw.
  return new Ajv({ strict: true, allErrors: true, useDefaults: true }).compile(schema);
}

/** Validates a copy of `value` (ajv fills defaults in place) and returns it with the outcome. */
export function validateWith(validate: ValidateFunction, value: unknown): { ok: boolean; value: unknown } {
  const copy = structuredClone(value);
  const ok = validate(copy);
  return { ok, value: copy };
}
