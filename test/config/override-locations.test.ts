import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipeline } from '../../src/config/load-pipeline.js';
import { InputErrors, ParamflowError } from '../../src/util/errors.js';
import { builtinRegistry, type StageRegistry } from '../../src/stage-contract/registry.js';

// Issue 18 item 11: a `--set` that adds keys the file never had (`simulate.foo.bar=1`) is
// the command line's mistake; the errors about it must point there, not at a line of the file.

let tmp: string;
let file: string;
let registry: StageRegistry;
beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'pf-overloc-')));
  mkdirSync(join(tmp, '.paramflow'));
  file = join(tmp, 'quick.yaml');
  copyFileSync(join(__dirname, '../../pipelines/quick.yaml'), file);
  registry = await builtinRegistry();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function errorsOf(set: string): Promise<ParamflowError[]> {
  try {
    await loadPipeline(file, { registry, env: {}, overrides: [{ text: set, column: 21 }] });
  } catch (err) {
    expect(err).toBeInstanceOf(ParamflowError);
    return err instanceof InputErrors ? [...err.errors] : [err as ParamflowError];
  }
  throw new Error(`expected --set ${set} to be refused`);
}

describe('--set that creates a new nested path', () => {
  const commandLine = { file: '<command line>', line: 1, column: 21 };
  for (const set of [
    'simulate.foo.bar=1',
    'simulate.__proto__.x=1',
    'simulate.constructor.x=1',
    'tracking.foo.bar=1',
    'noise.gaussian.extra.deep=2',
  ]) {
    it(`${set} is located on the command line`, async () => {
      const errors = await errorsOf(set);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) {
        expect(e.code).toBe('PF_SCHEMA');
        expect(e.location).toEqual(commandLine);
      }
    });
  }

  it('train.optimizer.adamx.lr=1: both the unknown key and "exactly one optimizer" point at the flag', async () => {
    const errors = await errorsOf('train.optimizer.adamx.lr=1');
    expect(errors.map((e) => e.message).join('\n')).toMatch(/adamx/);
    expect(errors.map((e) => e.message).join('\n')).toMatch(/exactly one of/);
    for (const e of errors) expect(e.location).toEqual(commandLine);
  });

  it('an error the file made stays on the file when a flag added a valid key beside it', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, readFileSync(file, 'utf8').replace('n: 1000', 'n: -5'));
    const err = await loadPipeline(bad, {
      registry,
      env: {},
      overrides: [{ text: 'simulate.dtype=float32', column: 21 }],
    }).catch((e: unknown) => e as ParamflowError);
    expect(err).toBeInstanceOf(ParamflowError);
    expect((err as ParamflowError).location).toMatchObject({ file: bad, line: 11 });
  });
});
