// A command's `run:` as words with placeholders. Parsing is pure and shared by the
// loader's checks (unknown placeholder, undeclared output) and by the execution.

/** A placeholder inside a word: `{inputs.noise.Y}` → { kind: 'inputs', path: ['noise', 'Y'] }. */
export interface Placeholder {
  kind: 'inputs' | 'outputs' | 'out' | 'params' | 'seed';
  path: string[];
  text: string;
}

export type Part = string | Placeholder;

const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}/g;

/** Splits a command string into words like a POSIX shell would (quotes and backslashes), without expanding anything. */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && /["\\$`]/.test(command[i + 1] ?? '')) word += command[++i]!;
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (ch === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i]!;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (word !== undefined) words.push(word);
  return words;
}

/** The parts of one word; throws on a placeholder it does not know. */
export function parseWord(word: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of word.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(word.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0] === '{{' || m[0] === '}}') {
      parts.push(m[0][0]!);
      continue;
    }
    parts.push(parsePlaceholder(m[1]!.trim(), m[0]));
  }
  if (last < word.length) parts.push(word.slice(last));
  return parts;
}

function parsePlaceholder(inner: string, text: string): Placeholder {
  const [kind, ...path] = inner.split('.');
  const ok =
    (kind === 'inputs' && path.length === 2 && path.every(Boolean)) ||
    (kind === 'outputs' && path.length === 1 && path[0] !== '') ||
    (kind === 'params' && path.every(Boolean)) ||
    ((kind === 'out' || kind === 'seed') && path.length === 0);
  if (!ok) {
    throw new Error(
      `unknown placeholder ${text}: placeholders are {inputs.<stage>.<output>}, {outputs.<name>}, {out}, {params}, {params.<key>} and {seed} ({{ and }} are literal braces)`,
    );
  }
  return { kind: kind as Placeholder['kind'], path, text };
}

/** The command's words, each parsed: a string is split like a shell would, a list is taken as is. */
export function parseRun(run: string | readonly string[], shell: boolean): Part[][] {
  // With a shell, the string goes to sh as one script: placeholders are found, nothing is split.
  const words = typeof run === 'string' ? (shell ? [run] : splitWords(run)) : [...run];
  return words.map(parseWord);
}

export function placeholders(words: readonly Part[][]): Placeholder[] {
  return words.flat().filter((p): p is Placeholder => typeof p !== 'string');
}

/** A word with its placeholders replaced (`quote` wraps substituted values, for a shell). */
export function render(
  parts: readonly Part[],
  value: (p: Placeholder) => string,
  quote: (s: string) => string = (s) => s,
): string {
  return parts.map((p) => (typeof p === 'string' ? p : quote(value(p)))).join('');
}

/** Single-quotes a value for /bin/sh. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
