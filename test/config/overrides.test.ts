import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { overrideLocation, parseOverride, TOP_LEVEL_KEYS } from '../../src/config/overrides.js';

const STAGES = ['simulate', 'noise', 'folds', 'train'];

function refused(text: string, column?: number): ParamflowError {
  try {
    parseOverride({ text, ...(column === undefined ? {} : { column }) }, STAGES);
  } catch (err) {
    expect(err).toBeInstanceOf(ParamflowError);
    return err as ParamflowError;
  }
  throw new Error(`expected --set ${text} to be refused`);
}

describe('parseOverride', () => {
  it("maps <stage>.<param> onto the stage's with: and parses the value as a number", () => {
    const o = parseOverride({ text: 'simulate.n=2000' }, STAGES);
    expect(o.path).toEqual(['stages', 'simulate', 'with', 'n']);
    expect(o.value).toBe(2000);
    expect(o.text).toBe('simulate.n=2000');
  });

  it('parses numbers in any YAML spelling to the same value', () => {
    for (const v of ['2e3', '2000', '2000.0'])
      expect(parseOverride({ text: `simulate.n=${v}` }, STAGES).value).toBe(2000);
  });

  it('keeps nested paths', () => {
    expect(parseOverride({ text: 'noise.gaussian.relative=0.1' }, STAGES)).toMatchObject({
      path: ['stages', 'noise', 'with', 'gaussian', 'relative'],
      value: 0.1,
    });
  });

  it('parses lists and mappings', () => {
    expect(parseOverride({ text: 'train.layers=[1,2]' }, STAGES).value).toEqual([1, 2]);
    expect(parseOverride({ text: 'noise.gaussian={sigma: 0.5}' }, STAGES).value).toEqual({ sigma: 0.5 });
  });

  it('keeps strings strings and booleans booleans', () => {
    expect(parseOverride({ text: 'simulate.model=logistic' }, STAGES).value).toBe('logistic');
    expect(parseOverride({ text: 'simulate.model="1"' }, STAGES).value).toBe('1');
    expect(parseOverride({ text: 'train.flag=true' }, STAGES).value).toBe(true);
  });

  it('splits at the first = only, so values may contain =', () => {
    const o = parseOverride({ text: 'train.note=a=b' }, STAGES);
    expect(o.path).toEqual(['stages', 'train', 'with', 'note']);
    expect(o.value).toBe('a=b');
  });

  it('sets top-level keys directly: seed, name, tracking.*', () => {
    expect(parseOverride({ text: 'seed=3' }, STAGES)).toMatchObject({ path: ['seed'], value: 3 });
    expect(parseOverride({ text: 'name=other' }, STAGES)).toMatchObject({ path: ['name'], value: 'other' });
    expect(parseOverride({ text: 'tracking.experiment=x' }, STAGES)).toMatchObject({
      path: ['tracking', 'experiment'],
      value: 'x',
    });
    expect(TOP_LEVEL_KEYS).toEqual(expect.arrayContaining(['seed', 'name', 'tracking']));
  });

  it('treats an empty value as an empty string, and `null` as null', () => {
    expect(parseOverride({ text: 'description=' }, STAGES).value).toBe('');
    expect(parseOverride({ text: 'simulate.n=null' }, STAGES).value).toBeNull();
  });

  it('locates the override at its column on the command line', () => {
    const o = parseOverride({ text: 'simulate.n=5', column: 27 }, STAGES);
    expect(o.location).toEqual({ file: '<command line>', line: 1, column: 27 });
    expect(overrideLocation({ text: 'x' })).toEqual({ file: '<command line>', line: 1, column: 1 });
  });

  it('refuses a flag without = (PF_BAD_OVERRIDE, bad input)', () => {
    for (const text of ['simulate.n', '=5', '']) {
      const err = refused(text, 12);
      expect(err.code).toBe('PF_BAD_OVERRIDE');
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/KEY=VALUE/);
      expect(err.hint).toMatch(/--set/);
      expect(err.location).toEqual({ file: '<command line>', line: 1, column: 12 });
    }
  });

  it('refuses an empty path segment', () => {
    for (const text of ['simulate..n=1', '.n=1', 'simulate.n.=1']) {
      const err = refused(text);
      expect(err.code).toBe('PF_BAD_OVERRIDE');
      expect(err.message).toMatch(/empty segment/);
    }
  });

  it('refuses an unknown stage with a did-you-mean hint', () => {
    const err = refused('simulat.n=5');
    expect(err.code).toBe('PF_BAD_OVERRIDE');
    expect(err.message).toContain('simulat');
    expect(err.hint).toMatch(/did you mean `simulate`/);
  });

  it('lists what exists when nothing is close', () => {
    const err = refused('zzz.q=5');
    expect(err.code).toBe('PF_BAD_OVERRIDE');
    for (const s of STAGES) expect(err.hint).toContain(s);
  });

  it('refuses a bare stage name: a stage is not a value', () => {
    const err = refused('simulate=5');
    expect(err.code).toBe('PF_BAD_OVERRIDE');
    expect(err.message).toMatch(/is a stage/);
    expect(err.hint).toContain('simulate.<param>');
  });

  it('refuses a value that is not valid YAML', () => {
    const err = refused('train.layers=[1,2');
    expect(err.code).toBe('PF_BAD_OVERRIDE');
    expect(err.message).toMatch(/not valid YAML/);
  });

  it('does not let a stage path reach outside with: (stages.x.uses is not addressable)', () => {
    expect(refused('stages.simulate.uses=train').code).toBe('PF_BAD_OVERRIDE');
  });
});
