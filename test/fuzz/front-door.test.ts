import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { locateOverrides } from '../../src/config/locate-overrides.js';
import { loadPipeline } from '../../src/config/load-pipeline.js';
import { InputErrors, ParamflowError } from '../../src/util/errors.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { builtinRegistry, type StageRegistry } from '../../src/stage-contract/registry.js';
import { prepareSweep } from '../../src/sweep/run-sweep.js';
import { REPO } from '../helpers/project.js';
import { HOSTILE } from './hostile.js';

// The front door under random and mutated input: the loader answers every pipeline file,
// `--set` and `--sweep` with a plan or with located bad-input errors (exit 2), and never
// with anything else (an internal error, a stack overflow, a hang).

const RUNS = Number(process.env.PARAMFLOW_FUZZ_RUNS ?? 150);
const dir = mkdtempSync(join(tmpdir(), 'pf-fuzz-'));
const SHIPPED = readdirSync(join(REPO, 'pipelines'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(REPO, 'pipelines', f), 'utf8'));
const QUICK = readFileSync(join(REPO, 'pipelines', 'quick.yaml'), 'utf8');
let registry: StageRegistry;
let n = 0;

beforeAll(async () => {
  registry = await builtinRegistry();
});

type Answer = { ok: true } | { ok: false; error: ParamflowError };

/** Load, plan and expand the sweep of `text`, as `paramflow validate` does. */
async function frontDoor(text: string, sets: string[] = [], sweeps: string[] = []): Promise<Answer> {
  const file = join(dir, `p${n++}.yaml`);
  writeFileSync(file, text);
  const argv = [...sets.flatMap((s) => ['--set', s]), ...sweeps.flatMap((s) => ['--sweep', s])];
  const overrides = locateOverrides(sets, argv);
  try {
    const pipeline = await loadPipeline(file, { registry, overrides, env: {} });
    await planPipeline(pipeline, registry, {});
    await prepareSweep(file, overrides, locateOverrides(sweeps, argv, '--sweep'));
    return { ok: true };
  } catch (err) {
    if (!(err instanceof ParamflowError)) throw err; // an internal error: the property fails
    return { ok: false, error: err };
  }
}

/** Every error of a refusal is bad input with a file and, inside a file, a line and column. */
function expectLocated(a: Answer): void {
  if (a.ok) return;
  expect(a.error.exitCode, a.error.message).toBe(2);
  const all = a.error instanceof InputErrors ? a.error.errors : [a.error];
  expect(all.length).toBeGreaterThan(0);
  for (const e of all) {
    expect(e.location?.file, e.message).toBeTruthy();
    expect(e.hint, e.message).toBeTruthy();
    if (e.location!.file !== '<command line>') {
      expect(e.location!.line, `${e.code}: ${e.message}`).toBeGreaterThanOrEqual(1);
      expect(e.location!.column, `${e.code}: ${e.message}`).toBeGreaterThanOrEqual(1);
    }
  }
}

// Characters that matter to YAML, and some that matter to nobody.
const SPECIAL = [
  ':',
  ' ',
  '\n',
  '-',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '#',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
  '\t',
  '?',
  '\\',
  '0',
  '9',
  '.',
  'e',
  '\u0000',
  '\u202e',
  '😀',
  'é',
];
const edit = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('insert', 'delete', 'replace', 'dup-line', 'drop-line'),
  ch: fc.constantFrom(...SPECIAL),
  len: fc.integer({ min: 1, max: 8 }),
});

function mutate(text: string, edits: readonly { at: number; op: string; ch: string; len: number }[]): string {
  let t = text;
  for (const e of edits) {
    const at = t.length === 0 ? 0 : e.at % t.length;
    const lines = t.split('\n');
    const li = lines.length === 0 ? 0 : e.at % lines.length;
    if (e.op === 'insert') t = t.slice(0, at) + e.ch.repeat(e.len) + t.slice(at);
    else if (e.op === 'delete') t = t.slice(0, at) + t.slice(at + e.len);
    else if (e.op === 'replace') t = t.slice(0, at) + e.ch + t.slice(at + 1);
    else if (e.op === 'dup-line') t = [...lines.slice(0, li + 1), lines[li] ?? '', ...lines.slice(li + 1)].join('\n');
    else t = [...lines.slice(0, li), ...lines.slice(li + 1)].join('\n');
  }
  return t;
}

// Values that have broken parsers: special numbers, long and odd strings, deep-ish nesting.
const nasty = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Infinity,
    -Infinity,
    -0,
    1e308,
    5e-324,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 53,
    -1,
    0,
    1.5,
    4294967296,
  ),
  fc.constantFrom(
    '',
    ' ',
    'null',
    '~',
    'yes',
    'NaN',
    '.inf',
    '0x1F',
    '1e400',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    'é😀\u202e',
    'x'.repeat(70_000),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 4 }),
);

/** Every path to a value in `v` (keys and indexes). */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [prefix, ...v.flatMap((x, i) => paths(x, [...prefix, i]))];
  if (v && typeof v === 'object') return [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))];
  return [prefix];
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...(root as object) }) as Record<
    string | number,
    unknown
  >;
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), value);
  return copy;
}

const SET_KEYS = [
  'simulate.n',
  'simulate.model',
  'simulate.x.points',
  'noise.gaussian.relative',
  'train.batch_size',
  'train.epochs',
  'train.layers',
  'train.optimizer.adam.lr',
  'folds.k',
  'seed',
  'name',
  'tracking.experiment',
  'train',
  'nope.x',
  'train.nope',
  '',
  '.',
  'train..epochs',
  '__proto__.x',
  'train.__proto__',
];

describe('the front door under fuzzing', () => {
  it('mutated shipped pipelines: a plan or located bad input, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SHIPPED),
        fc.array(edit, { minLength: 1, maxLength: 6 }),
        async (text, edits) => expectLocated(await frontDoor(mutate(text, edits))),
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('odd values at any place in a valid pipeline: a plan or located bad input', async () => {
    const base = parse(QUICK) as unknown;
    const all = paths(base);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.option(fc.string({ minLength: 1, maxLength: 12 })),
        nasty,
        async (i, newKey, value) => {
          const at = all[i % all.length]!;
          const doc = setAt(base, newKey === null ? at : [...at, newKey], value);
          expectLocated(await frontDoor(stringify(doc)));
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('random --set overrides: a plan or an error located on the command line', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('1e400', 'NaN', '-0', '[1,2', '{a: 1}', '[]', 'null', '"x"', '0.5', '64', 'é😀'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...SET_KEYS), fc.constantFrom('=', '==', ':', ''), value), { maxLength: 4 }),
        async (sets) => {
          expectLocated(
            await frontDoor(
              QUICK,
              sets.map(([k, eq, v]) => `${k}${eq}${v}`),
            ),
          );
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('random --sweep flags: a plan or an error located on the command line', async () => {
    const values = fc.array(
      fc.oneof(
        fc.integer({ min: -5, max: 300 }).map(String),
        fc.string({ maxLength: 8 }),
        fc.constantFrom('', '1e400', 'NaN', '[1,2]', 'x,y'),
      ),
      { maxLength: 5 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...SET_KEYS), values), { maxLength: 3 }), async (flags) => {
        expectLocated(
          await frontDoor(
            QUICK,
            [],
            flags.map(([k, vs]) => `${k}=${vs.join(',')}`),
          ),
        );
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }, 120_000);

  it.each([
    ['--set', ['simulate.n=' + '['.repeat(5000) + ']'.repeat(5000)], []],
    ['--set', ['simulate.n=' + '[1,'.repeat(900) + ']'.repeat(900)], []],
    ['--set', ['name=' + 'x'.repeat(1_000_000)], []],
    ['--sweep', [], ['train.batch_size=' + '['.repeat(5000) + ']'.repeat(5000)]],
    ['--sweep', [], ['train.batch_size=' + Array.from({ length: 5000 }, (_, i) => i + 1).join(',')]],
    ['--sweep', [], ['train.batch_size=.inf,16']],
  ] as const)(
    'hostile %s value',
    async (_, sets, sweeps) => {
      const a = await frontDoor(QUICK, [...sets], [...sweeps]);
      expectLocated(a);
    },
    60_000,
  );

  it.each(HOSTILE.map((h) => [h.name, h] as const))('hostile file: %s', async (_, h) => {
    const a = await frontDoor(h.text());
    expect(a.ok).toBe(false);
    expectLocated(a);
    if (!a.ok && h.expect) expect(a.error.message).toMatch(h.expect);
  });
});
