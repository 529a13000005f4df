import { describe, expect, it } from 'vitest';
import { parseRun, parseWord, placeholders, render, shellQuote, splitWords } from '../../stages/command/template.js';

describe('command template', () => {
  it('splits a command string into words like a shell, without expanding anything', () => {
    expect(splitWords(`python3 fit.py --in "a b.npy" --tag 'x y' c\\ d $HOME`)).toEqual([
      'python3',
      'fit.py',
      '--in',
      'a b.npy',
      '--tag',
      'x y',
      'c d',
      '$HOME',
    ]);
    expect(splitWords(`say "" ''`)).toEqual(['say', '', '']);
    expect(() => splitWords(`echo "open`)).toThrow(/unclosed " quote/);
  });

  it('finds placeholders inside words and keeps doubled braces literal', () => {
    const parts = parseWord('--in={inputs.noise.Y},{{x}}');
    expect(parts).toEqual([
      '--in=',
      { kind: 'inputs', path: ['noise', 'Y'], text: '{inputs.noise.Y}' },
      ',',
      '{',
      'x',
      '}',
    ]);
    expect(render(parts, () => '/p/Y.npy')).toBe('--in=/p/Y.npy,{x}');
  });

  it.each(['{input.noise.Y}', '{inputs.noise}', '{outputs}', '{outputs.a.b}', '{seed.x}', '{}'])(
    'refuses the unknown placeholder %s',
    (word) => {
      expect(() => parseWord(word)).toThrow(/unknown placeholder/);
    },
  );

  it('keeps a shell script whole and quotes substituted values for sh', () => {
    const words = parseRun('cat {inputs.a.b} | wc -c > {outputs.n}', true);
    expect(words).toHaveLength(1);
    expect(placeholders(words).map((p) => p.text)).toEqual(['{inputs.a.b}', '{outputs.n}']);
    expect(render(words[0]!, (p) => (p.kind === 'inputs' ? "/it's here" : '/o'), shellQuote)).toBe(
      `cat '/it'\\''s here' | wc -c > '/o'`,
    );
  });

  it('takes a list of words as argv', () => {
    expect(parseRun(['node', '-e', 'a b', '{seed}'], false).map((w) => w.length)).toEqual([1, 1, 1, 1]);
  });
});
