import { describe, expect, it } from 'vitest';
import {
  checkKey,
  experimentNameProblem,
  mlflowKeyProblems,
  truncateChars,
} from '../../../src/tracking/mlflow/limits.js';

describe('checkKey', () => {
  it.each([
    'train.batch_size',
    'rmse.A.mean',
    'cv_rmse_mean',
    'paramflow.stage.train.key',
    'a b',
    'x:y',
    'a/b',
    'val-loss',
    'Ünïcode_ok',
    'a'.repeat(250),
  ])('accepts %s', (k) => {
    expect(checkKey(k)).toBeUndefined();
  });

  it.each([
    ['bad key!', /characters MLflow refuses \("!"\)/],
    ['', /empty/],
    ['a'.repeat(251), /251 characters long; MLflow allows at most 250/],
    ['/abs', /another path/],
    ['a//b', /another path/],
    ['a/./b', /another path/],
    ['../x', /another path/],
    ['trailing/', /another path/],
    ['tab\there', /characters MLflow refuses/],
    ['quote"', /characters MLflow refuses/],
  ])('refuses %j', (k, why) => {
    expect(checkKey(k)).toMatch(why);
  });
});

describe('mlflowKeyProblems', () => {
  it('lists each bad key once, and nothing for good ones', () => {
    expect(mlflowKeyProblems(['train.batch_size', 'ok'])).toEqual([]);
    const problems = mlflowKeyProblems(['ok', 'bad key!', 'bad key!', 'x'.repeat(300)]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('`bad key!`');
    expect(problems[0]).toContain(
      'alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)',
    );
  });
});

describe('values', () => {
  it('truncates by characters (code points), as MLflow counts them', () => {
    expect(truncateChars('abc', 6000)).toBe('abc');
    expect(truncateChars('x'.repeat(6001), 6000)).toHaveLength(6000);
    expect([...truncateChars('😀'.repeat(10), 4)]).toHaveLength(4);
  });

  it('checks experiment names', () => {
    expect(experimentNameProblem('curve-params')).toBeUndefined();
    expect(experimentNameProblem(' ')).toMatch(/empty/);
    expect(experimentNameProblem('e'.repeat(501))).toMatch(/500/);
  });
});

describe('key charset as a real MLflow 3.6 server applies it (Python \\w)', () => {
  it('takes letters and digits of any script, refuses combining marks', () => {
    for (const ok of ['température', 'α_β', 'x٣']) expect(checkKey(ok), ok).toBeUndefined();
    for (const bad of ['e\u0301', 'कि', 'x\u200d']) expect(checkKey(bad), JSON.stringify(bad)).toBeDefined();
  });
});
