import { canonicalJson } from './canonical-json.js';
import type { KeyDetails } from './stage-key.js';

// Deciding (keys equal or not) and explaining (what differs) are separate: this
// module only explains, from the details stored with an earlier run.

export type Change =
  | { kind: 'never-run' }
  | { kind: 'type'; from: string; to: string }
  | { kind: 'version'; from: string; to: string }
  | { kind: 'param'; path: string; from: unknown; to: unknown }
  | { kind: 'input'; stage: string; from?: string; to?: string }
  | { kind: 'file'; path: string; from?: string; to?: string }
  | { kind: 'env'; name: string; from?: string; to?: string }
  | { kind: 'format'; from: number; to: number };

export function explainKeyChange(previous: KeyDetails | undefined, current: KeyDetails, stage: string): Change[] {
  if (!previous) return [{ kind: 'never-run' }];
  const changes: Change[] = [];
  if (previous.format !== current.format) changes.push({ kind: 'format', from: previous.format, to: current.format });
  if (previous.type !== current.type) changes.push({ kind: 'type', from: previous.type, to: current.type });
  if (previous.version !== current.version)
    changes.push({ kind: 'version', from: previous.version, to: current.version });
  diffValues(previous.params, current.params, stage, changes);
  for (const name of unionKeys(previous.inputs, current.inputs)) {
    const from = previous.inputs[name];
    const to = current.inputs[name];
    if (from !== to) changes.push({ kind: 'input', stage: name, from, to });
  }
  for (const path of unionKeys(previous.files, current.files)) {
    if (previous.files[path] !== current.files[path]) {
      changes.push({ kind: 'file', path, from: previous.files[path], to: current.files[path] });
    }
  }
  for (const name of unionKeys(previous.env, current.env)) {
    if (previous.env[name] !== current.env[name]) {
      changes.push({ kind: 'env', name, from: previous.env[name], to: current.env[name] });
    }
  }
  return changes;
}

/**
 * A change of the stage's own making (type, version, params, files, env, format), as
 * opposed to an input change, which only passes on a change upstream.
 */
export function isOwnChange(c: Change): boolean {
  return c.kind !== 'input' && c.kind !== 'never-run';
}

function diffValues(a: unknown, b: unknown, path: string, out: Change[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of unionKeys(a, b)) diffValues(a[k], b[k], `${path}.${k}`, out);
    return;
  }
  if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) out.push({ kind: 'param', path, from: a, to: b });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

const short = (h?: string) => (h ? h.slice(0, 10) : 'none');
const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

export function describeChange(c: Change): string {
  switch (c.kind) {
    case 'never-run':
      return 'never run';
    case 'type':
      return `stage type ${c.from} → ${c.to}`;
    case 'version':
      return `implementation version ${c.from} → ${c.to}`;
    case 'param':
      return `param ${c.path} ${show(c.from)} → ${show(c.to)}`;
    case 'input':
      return `input ${c.stage} changed (${short(c.from)} → ${short(c.to)})`;
    case 'file':
      return `file ${c.path} changed`;
    case 'env':
      return `${c.name} ${c.from ?? '(unset)'} → ${c.to ?? '(unset)'}`;
    case 'format':
      return `cache format ${c.from} → ${c.to}`;
  }
}
