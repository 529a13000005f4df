import { parse as parseYaml } from 'yaml';
import { ParamflowError, type SourceLocation } from '../util/errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import type { DocPath } from './schema-errors.js';
import type { Override } from './spec.js';

/** Top-level keys a `--set` may address directly (docs/conventions.md, Overrides). */
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
  if (parts.some((p) => p === ''))
    throw bad(`empty segment in key \`${key}\``, 'separate path segments with single dots');
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
  if (parts.length < 2)
    throw bad(`\`${head}\` is a stage: name one of its params`, `write --set ${head}.<param>=<value>`);
  return { path: ['stages', head, 'with', ...parts.slice(1)], value, location, text: o.text };
}

/**
 * Sets the override's value in the pipeline's plain values (never in the parsed document,
 * which stays as the file wrote it, for locations). Returns the shortest part of the path
 * the file did not have, or undefined when the override replaced a value.
 */
export function applyOverride(top: Record<string, unknown>, o: ParsedOverride): DocPath | undefined {
  let node: unknown = top;
  let created: DocPath | undefined;
  for (let i = 0; i < o.path.length; i++) {
    const seg = String(o.path[i]);
    const last = i === o.path.length - 1;
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(seg) || Number(seg) >= node.length) {
        throw new ParamflowError(
          'PF_BAD_OVERRIDE',
          `--set ${o.text}: ${o.path.slice(0, i).join('.')} is a list of ${node.length} items; \`${seg}\` is not one of its indexes`,
          {
            location: o.location,
            hint:
              node.length > 0
                ? `use an index from 0 to ${node.length - 1}, or replace the whole list`
                : 'replace the whole list',
          },
        );
      }
      if (last) node[Number(seg)] = o.value;
      else node = node[Number(seg)];
      continue;
    }
    if (node === null || typeof node !== 'object') {
      throw new ParamflowError('PF_BAD_OVERRIDE', `--set ${o.text}: ${o.path.slice(0, i).join('.')} is not a mapping`, {
        location: o.location,
        hint: 'set a key inside a mapping, or replace the whole value',
      });
    }
    const map = node as Record<string, unknown>;
    if (!Object.hasOwn(map, seg)) {
      created ??= o.path.slice(0, i + 1);
      // defineProperty: `__proto__` or `constructor` is a key like any other, never the prototype.
      Object.defineProperty(map, seg, {
        value: last ? o.value : {},
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else if (last) {
      map[seg] = o.value;
    }
    node = map[seg];
  }
  return created;
}
