import { describe, expect, it } from 'vitest';
import { locateOverrides } from '../../src/config/locate-overrides.js';

/** The 1-based column where `arg` (the i-th argv entry) starts in `paramflow <argv…>`. */
function columnOf(argv: readonly string[], i: number): number {
  return (
    `paramflow ${argv
      .slice(0, i)
      .map((a) => `${a} `)
      .join('')}`.length + 1
  );
}

describe('locateOverrides', () => {
  it('gives each --set value the column where it starts on the command line', () => {
    const argv = ['run', 'p.yaml', '--set', 'simulate.n=2000', '--set', 'seed=3'];
    const line = `paramflow ${argv.join(' ')}`;
    const located = locateOverrides(['simulate.n=2000', 'seed=3'], argv);
    expect(located).toEqual([
      { text: 'simulate.n=2000', column: columnOf(argv, 3) },
      { text: 'seed=3', column: columnOf(argv, 5) },
    ]);
    for (const o of located) expect(line.slice(o.column! - 1)).toMatch(new RegExp(`^${o.text}`));
  });

  it('points past `--set=` for the --set=a.b=1 form', () => {
    const argv = ['run', 'p.yaml', '--set=a.b=1'];
    const line = `paramflow ${argv.join(' ')}`;
    const [o] = locateOverrides(['a.b=1'], argv);
    expect(o).toEqual({ text: 'a.b=1', column: columnOf(argv, 2) + '--set='.length });
    expect(line.slice(o!.column! - 1)).toBe('a.b=1');
  });

  it('gives repeated identical values the column of each occurrence, in order', () => {
    const argv = ['run', 'p.yaml', '--set', 'a.b=1', '--set=a.b=1', '--set', 'a.b=1'];
    const located = locateOverrides(['a.b=1', 'a.b=1', 'a.b=1'], argv);
    expect(located.map((o) => o.column)).toEqual([
      columnOf(argv, 3),
      columnOf(argv, 4) + '--set='.length,
      columnOf(argv, 6),
    ]);
  });

  it('leaves the column out for a value it cannot find', () => {
    expect(locateOverrides(['x.y=1'], ['run', 'p.yaml'])).toEqual([{ text: 'x.y=1' }]);
    // More values than occurrences: the extra one has no column.
    const located = locateOverrides(['a.b=1', 'a.b=1'], ['run', '--set', 'a.b=1']);
    expect(located[0]!.column).toBe(columnOf(['run', '--set', 'a.b=1'], 2));
    expect(located[1]).toEqual({ text: 'a.b=1' });
  });

  it('keeps the values in the order given', () => {
    const argv = ['run', 'p.yaml', '--set', 'b=2', '--set', 'a=1'];
    expect(locateOverrides(['b=2', 'a=1'], argv).map((o) => o.text)).toEqual(['b=2', 'a=1']);
  });

  it('accounts for arguments of any length before the flag', () => {
    const argv = ['run', 'some/long/path/to/pipeline.yaml', '--jobs', '4', '--set', 'k=v'];
    const [o] = locateOverrides(['k=v'], argv);
    expect(`paramflow ${argv.join(' ')}`.slice(o!.column! - 1)).toBe('k=v');
  });
});
