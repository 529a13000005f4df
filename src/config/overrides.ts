import { parse as parseYaml } from 'yaml';
import { ParamflowError, type SourceLocation } from '../errors.js';
import { didYouMean, type DocPath } from './schema-errors.js';
import type { Override } from './spec.js';

/** Top-level keys a `--set` may address directly (Conventions: Overrides). */
export const TOP_LEVEL_KEYS = ['name', 'seed', 'tracking', 'description'] as const;

export interface ParsedOverride {
  path: DocPath;
  value: unknown;
  location: SourceLocation;
  text: string;
}

export function overrideLocation(o: Override): SourceLocation {
  return o.location ?? { file: '<command line>', line: 1, column: o.column ?? 1 };
}

/** `simulate.n=2000` → the document path it sets and the value (parsed as YAML: numbers, lists). */
export function parseOverride(o: Override, stageNames: readonly string[]): ParsedOverride {
  const location = overrideLocation(o);
  const eq = o.text.indexOf('=');
  const bad = (message: string, hint: string) =>
    new ParamflowError('PF_BAD_OVERRIDE', `--set ${o.text}: ${message}`, { location, hint });
  if (eq <= 0) throw bad('expected KEY=VALUE', 'write --set <stage>.<param>=<value>, e.g. --set simulate.n=2000');
  const key = o.text.slice(0, eq);
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw bad(`empty segment in key \`${key}\``, 'separate path segments with single dots');
  let value: unknown;
  try {
    value = parseYaml(o.text.slice(eq + 1));
  } catch (err) {
    throw bad('the value is not valid YAML', 'quote strings with special characters; lists are [a, b]');
  }
  // `--set description=` means an empty string, not YAML's null.
  if (value === undefined || (value === null && o.text.slice(eq + 1) === '')) value = '';
  const head = parts[0]!;
  if ((TOP_LEVEL_KEYS as readonly string[]).includes(head)) return { path: parts, value, location, text: o.text };
  if (!stageNames.includes(head)) {
    throw bad(`no stage or top-level key \`${head}\``, didYouMean(head, [...stageNames, ...TOP_LEVEL_KEYS]));
  }
  if (parts.length < 2) throw bad(`\`${head}\` is a stage: name one of its params`, `write --set ${head}.<param>=<value>`);
  return { path: ['stages', head, 'with', ...parts.slice(1)], value, location, text: o.text };
}
