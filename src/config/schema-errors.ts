import type { ErrorObject } from 'ajv';
import { ParamflowError, type SourceLocation } from '../util/errors.js';
import { didYouMean } from '../util/did-you-mean.js';

export type DocPath = readonly (string | number)[];

/** Maps a document path to where the user wrote it (a YAML node or a `--set` flag). */
export interface Locator {
  locate(path: DocPath): SourceLocation;
  locateKey(path: DocPath, key: string): SourceLocation;
  /** Where a key was added to the mapping at `path` by an override, if one was: a mapping with a key too many is that override's fault. */
  locateAdded?(path: DocPath): SourceLocation | undefined;
}

/** Turns Ajv's errors into located, hinted ParamflowErrors; never shows Ajv's raw text. */
/** Errors reported per validation; more are counted, not located. */
const MAX_REPORTED = 25;

export function mapSchemaErrors(errors: readonly ErrorObject[], base: DocPath, locator: Locator): ParamflowError[] {
  const out: ParamflowError[] = [];
  const seen = new Set<string>();
  for (const [i, e] of errors.entries()) {
    if (out.length === MAX_REPORTED) {
      // Locating each error is linear in its mapping's size: thousands would take minutes, and help no one.
      const last = out[out.length - 1]!;
      out.push(
        new ParamflowError('PF_SCHEMA', `and ${errors.length - i} more problem(s) not shown`, {
          ...(last.location ? { location: last.location } : {}),
          hint: 'fix the ones above, then validate again',
        }),
      );
      break;
    }
    // `if` failures only say "must match then": the `then` errors carry the detail.
    if (e.keyword === 'if') continue;
    // Errors inside `propertyNames` repeat the propertyNames error itself.
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue;
    const path = [...base, ...pointerToPath(e.instancePath)];
    const err = mapOne(e, path, locator);
    const id = `${err.location?.line}:${err.location?.column}:${err.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(err);
    }
  }
  return out;
}

function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function dotted(path: DocPath): string {
  return path.length === 0 ? '(top level)' : path.join('.');
}

/** The path as a `--set` key: `stages.simulate.with.n` → `simulate.n`. */
function asSetKey(path: DocPath): string {
  return path[0] === 'stages' && path[2] === 'with' ? [path[1], ...path.slice(3)].join('.') : dotted(path);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return `number ${String(v)}`;
  if (Array.isArray(v)) return `a list`;
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  return `${typeof v === 'number' && Number.isInteger(v) ? 'integer' : typeof v} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function allowedKeys(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props) : [];
}

function mapOne(e: ErrorObject, path: DocPath, locator: Locator): ParamflowError {
  const p = e.params as Record<string, unknown>;
  const loc = locator.locate(path);
  // On the command line, say the path as the user typed it in `--set`.
  const at = loc.file === '<command line>' ? asSetKey(path) : dotted(path);
  const fail = (message: string, hint: string, location: SourceLocation = loc) =>
    new ParamflowError('PF_SCHEMA', message, { location, hint, pointer: '/' + path.join('/') });
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const keyAt = locator.locateKey(path, key);
      return fail(
        `unknown key \`${key}\` in ${keyAt.file === '<command line>' ? asSetKey(path) : at}`,
        didYouMean(key, allowedKeys(e.parentSchema)),
        keyAt,
      );
    }
    case 'required': {
      const key = String(p.missingProperty);
      const desc = (e.parentSchema as { properties?: Record<string, { description?: string }> })?.properties?.[key]
        ?.description;
      return fail(`missing required key \`${key}\` in ${at}`, desc ? `add \`${key}:\` — ${desc}` : `add \`${key}:\``);
    }
    case 'type':
      return fail(
        `${at} must be ${article(String(p.type))}, got ${describe(e.data)}`,
        hintFromDescription(e.parentSchema, `write ${article(String(p.type))} here`),
      );
    case 'enum': {
      const options = (p.allowedValues as unknown[]).map(String);
      return fail(
        `${at} must be one of ${options.join(', ')}; got ${describe(e.data)}`,
        didYouMean(typeof e.data === 'string' ? e.data : '', options),
      );
    }
    case 'const':
      return fail(
        `${at} must be ${JSON.stringify(p.allowedValue)}, got ${describe(e.data)}`,
        `write ${JSON.stringify(p.allowedValue)}`,
      );
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return fail(
        `${at} must be ${SYMBOL[String(p.comparison)] ?? String(p.comparison)} ${String(p.limit)}, got ${typeof e.data === 'number' ? String(e.data) : describe(e.data)}`,
        rangeHint(e.parentSchema),
      );
    case 'minItems':
    case 'maxItems': {
      const len = Array.isArray(e.data) ? e.data.length : 0;
      return fail(
        `${at} must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} items, has ${len}`,
        hintFromDescription(e.parentSchema, 'see the stage schema'),
      );
    }
    case 'minProperties':
    case 'maxProperties': {
      const keys = allowedKeys(e.parentSchema);
      const one = (e.parentSchema as { maxProperties?: number }).maxProperties === 1;
      if (!one && e.keyword === 'minProperties' && p.limit === 1) {
        return fail(`${at} must not be empty`, hintFromDescription(e.parentSchema, 'add at least one entry'));
      }
      const what = one
        ? 'exactly one of'
        : e.keyword === 'minProperties'
          ? `at least ${String(p.limit)} of`
          : `at most ${String(p.limit)} of`;
      const added = e.keyword === 'maxProperties' ? locator.locateAdded?.(path) : undefined;
      return fail(
        `${added ? asSetKey(path) : at} must have ${what} ${keys.map((k) => `\`${k}\``).join(', ') || 'its keys'}`,
        hintFromDescription(e.parentSchema, `keep ${what} these keys`),
        added ?? loc,
      );
    }
    case 'minLength':
      return fail(`${at} must not be empty`, 'write a value here');
    case 'pattern': {
      const rule = PATTERNS[String(p.pattern)];
      return fail(
        `${at} ${describe(e.data)} ${rule?.says ?? `does not match ${String(p.pattern)}`}`,
        hintFromDescription(e.parentSchema, rule?.hint ?? 'see the schema'),
      );
    }
    case 'propertyNames': {
      const name = String(p.propertyName);
      return fail(
        `name \`${name}\` in ${at} is not allowed`,
        'names start with a letter and use letters, digits, `_` and `-` (up to 64 characters)',
        locator.locateKey(path, name),
      );
    }
    case 'uniqueItems':
      return fail(`${at} lists the same item twice (items ${String(p.j)} and ${String(p.i)})`, 'remove the duplicate');
    case 'multipleOf':
      return fail(`${at} must be a multiple of ${String(p.multipleOf)}`, 'round the value');
    default:
      return fail(
        `${at} is invalid (${e.keyword})`,
        hintFromDescription(e.parentSchema, 'see the schema of this stage'),
      );
  }
}

const SYMBOL: Record<string, string> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<' };

/** Plain words for the patterns our schemas use. */
const PATTERNS: Record<string, { says: string; hint: string }> = {
  '^https?://': { says: 'is not an http(s) URL', hint: 'write an http:// or https:// URL, e.g. http://127.0.0.1:5000' },
  '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$': {
    says: 'is not a valid name',
    hint: 'use letters, digits, `_`, `.` and `-`, starting with a letter or digit',
  },
};

const YAML_WORDS: Record<string, string> = { object: 'mapping', array: 'list' };

function article(type: string): string {
  const t = type
    .split(',')
    .map((w) => YAML_WORDS[w] ?? w)
    .join(' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function hintFromDescription(schema: unknown, fallback: string): string {
  const d = (schema as { description?: string } | undefined)?.description;
  return d ? `${fallback}: ${d}` : fallback;
}

function rangeHint(schema: unknown): string {
  const s = (schema ?? {}) as Record<string, number | string | undefined>;
  const lo =
    s.minimum !== undefined
      ? `≥ ${s.minimum}`
      : s.exclusiveMinimum !== undefined
        ? `> ${s.exclusiveMinimum}`
        : undefined;
  const hi =
    s.maximum !== undefined
      ? `≤ ${s.maximum}`
      : s.exclusiveMaximum !== undefined
        ? `< ${s.exclusiveMaximum}`
        : undefined;
  const range = [lo, hi].filter(Boolean).join(' and ');
  return hintFromDescription(schema, `use a value ${range || 'in range'}`);
}
