import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { environmentText } from '../../../src/cli/commands/repro.js';
import { parseTolerance } from '../../../src/cli/parse-tolerance.js';

describe('parseTolerance', () => {
  it('takes a fraction or a percentage', () => {
    expect(parseTolerance('0.02')).toBe(0.02);
    expect(parseTolerance('2%')).toBeCloseTo(0.02, 15);
    expect(parseTolerance('0')).toBe(0);
    expect(parseTolerance(' 0.5% ')).toBeCloseTo(0.005, 15);
  });

  it('refuses what is not a tolerance in [0, 1)', () => {
    for (const bad of ['', '%', 'abc', '-0.1', '1', '5', '100%', 'NaN', 'Infinity']) {
      expect(() => parseTolerance(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});

describe('environmentText', () => {
  it('says so when nothing differs', () => {
    expect(environmentText([])).toMatch(/^environment: same as recorded/);
  });

  it('one row per difference, then the commands that would match', () => {
    const text = environmentText([
      { kind: 'node', subject: 'node', recorded: 'v20.1.0', current: 'v22.0.0', effect: 'another V8' },
      {
        kind: 'git-commit',
        subject: 'git commit',
        recorded: 'aaaa',
        current: 'bbbb',
        effect: 'another commit',
        fix: 'git checkout aaaa',
      },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('environment: 2 differences from the recorded run');
    expect(lines[1]).toMatch(/^ {2}WHAT\s+RECORDED → NOW\s+LIKELY EFFECT$/);
    expect(lines[2]).toMatch(/^ {2}node\s+v20\.1\.0 → v22\.0\.0\s+another V8$/);
    expect(lines[3]).toMatch(/^ {2}git commit\s+aaaa → bbbb\s+another commit$/);
    expect(lines[4]).toBe('  to match git commit: git checkout aaaa');
    expect(lines).toHaveLength(5);
  });
});
