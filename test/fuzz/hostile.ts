// Pipeline files built to hurt a loader: resource exhaustion, deep nesting, odd numbers and
// characters. Each must be refused with a located bad-input error (exit 2), quickly.

const HEAD = 'name: x\nseed: 1\n';
const SIMULATE = 'stages:\n  simulate:\n    uses: simulate\n    with:\n';

function aliasBomb(): string {
  let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let prev = 'a';
  for (const name of 'bcdefghij') {
    text += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
    prev = name;
  }
  return text + HEAD + 'stages: {}\n';
}

export interface Hostile {
  name: string;
  text: () => string;
  /** What the error message must say, where it matters. */
  expect?: RegExp;
}

export const HOSTILE: Hostile[] = [
  { name: 'alias bomb (billion laughs)', text: aliasBomb, expect: /aliases/ },
  {
    name: '20,000 nested flow sequences',
    text: () => `${HEAD}stages: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
    expect: /nested/,
  },
  {
    name: '3,000 nested block mappings',
    text: () => HEAD + 'stages:\n' + Array.from({ length: 3000 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:\n`).join(''),
    expect: /nested/,
  },
  {
    name: '200 nested sequences inside a param',
    text: () => `${HEAD}${SIMULATE}      n: ${'['.repeat(200)}${']'.repeat(200)}\n`,
    expect: /nested/,
  },
  { name: 'a number beyond float range', text: () => `name: x\nseed: 1e400\n${SIMULATE}      n: 1e400\n` },
  {
    name: 'NaN and infinities',
    text: () => `name: x\nseed: .nan\n${SIMULATE}      n: .inf\n      x: { start: -.inf, stop: .nan, points: 3 }\n`,
  },
  {
    name: 'an integer beyond 2^53',
    text: () => `name: x\nseed: 123456789012345678901234567890\n${SIMULATE}      n: 9007199254740993\n`,
  },
  { name: 'a 2 MB name', text: () => `name: ${'x'.repeat(2_000_000)}\nseed: 1\nstages: {}\n` },
  {
    name: 'a 100,000-key mapping',
    text: () =>
      `${HEAD}stages:\n  simulate:\n    uses: simulate\n    with:\n${Array.from({ length: 100_000 }, (_, i) => `      k${i}: ${i}\n`).join('')}`,
  },
  { name: 'unicode and bidi stage names', text: () => `${HEAD}stages:\n  "sim\u00e9\u202e😀":\n    uses: simulate\n` },
  { name: 'a NUL byte', text: () => 'name: x\u0000\nseed: 1\nstages: {}\n' },
  { name: 'tabs as indentation', text: () => `${HEAD}stages:\n\tsimulate:\n\t\tuses: simulate\n` },
  {
    name: '__proto__ keys',
    text: () => `${HEAD}__proto__: { polluted: true }\nstages:\n  __proto__:\n    uses: simulate\n`,
  },
  // Found by the fuzzer: a mapping where an enum goes, holding a key named toString.
  {
    name: 'a mapping with a toString key where a name goes',
    text: () => `${HEAD}${SIMULATE}      n: 10\n      model: { toString: "" }\n`,
  },
  {
    name: 'tags and binary',
    text: () => 'name: !!binary aGVsbG8=\nseed: !!float 1\nstages:\n  simulate:\n    uses: !custom simulate\n',
  },
  { name: 'several documents', text: () => `${HEAD}stages: {}\n---\n${HEAD}` },
  { name: 'a bare scalar', text: () => '42\n' },
  { name: 'an empty file', text: () => '' },
  { name: 'only a comment', text: () => '# nothing here\n' },
];
