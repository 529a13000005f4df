import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../util/package-root.js';

// The numbers the addon and TypeScript share come from one table, native/boundary.json, which
// scripts/build-native.mjs also turns into the C side's header. TypeScript names what it relies
// on; the numbers come from the table, and a name the table lacks fails at load, not mid-run.

interface Table {
  constants: Record<string, number>;
  codes: Record<string, { prefix: string; names: string[] }>;
  hyper: string[];
}

const table = JSON.parse(readFileSync(join(packageRoot(), 'native', 'boundary.json'), 'utf8')) as Table;

function positions<const N extends string>(
  what: string,
  listed: readonly string[],
  names: readonly N[],
): Readonly<Record<N, number>> {
  const missing = names.filter((n) => !listed.includes(n));
  if (missing.length > 0) throw new Error(`native/boundary.json: ${what} has no ${missing.join(', ')}`);
  return Object.freeze(Object.fromEntries(names.map((n) => [n, listed.indexOf(n)]))) as Record<N, number>;
}

const codes = <const N extends string>(group: string, names: readonly N[]) =>
  positions(group, table.codes[group]?.names ?? [], names);

function constant(name: string): number {
  const v = table.constants[name];
  if (v === undefined) throw new Error(`native/boundary.json: no constant ${name}`);
  return v;
}

export const MAX_LAYERS = constant('MAX_LAYERS');
/** Numbers per layer in mlpCreate's description. */
export const STRIDE = constant('STRIDE');

export const LAYER = codes('layer', ['dense', 'batch_norm', 'dropout', 'activation']);
export const ACTIVATION = codes('activation', ['linear', 'relu', 'tanh', 'sigmoid', 'elu', 'selu', 'softplus']);
export const OPTIMIZER = codes('optimizer', ['sgd', 'momentum', 'adam', 'rmsprop']);
export const LOSS = codes('loss', ['mse', 'mae', 'huber']);
export const UNARY = codes('unary', [
  'linear',
  'relu',
  'relu6',
  'leakyrelu',
  'step',
  'sqrt',
  'square',
  'neg',
  'abs',
  'exp',
  'log',
  'rsqrt',
  'sigmoid',
  'reciprocal',
]);
export const BINARY = codes('binary', ['add', 'sub', 'mul', 'div', 'max', 'min', 'sqdiff']);
export const REDUCE = codes('reduce', ['sum', 'max', 'min']);

/** Positions in mlpStep's hyper array, and its length. */
export const HYPER = positions('hyper', table.hyper, [
  'optimizer',
  'lr',
  'a',
  'b',
  'c',
  'd',
  'e',
  'loss',
  'huber_delta',
]);
export const HYPER_LENGTH = table.hyper.length;
