import { expect } from 'vitest';

// vitest's diff of two 100,000-number arrays that differ in their last bits takes hours (a
// failing bit-identity check once held a CI run for 70 minutes): compare here, and report
// how many values differ and the first few, by path.
const SHOWN = 5;

/** Asserts two JSON-like values (numbers compared with Object.is, typed arrays as arrays) are identical. */
export function expectIdentical(actual: unknown, expected: unknown, what = 'value'): void {
  const found: string[] = [];
  let count = 0;
  const note = (path: string, a: unknown, b: unknown) => {
    if (count++ < SHOWN) found.push(`${path}: ${String(a)} ≠ ${String(b)}`);
  };
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (typeof a === 'number' && typeof b === 'number') {
      if (!Object.is(a, b)) note(path, a, b);
      return;
    }
    const listA = isList(a) ? Array.from(a) : undefined;
    const listB = isList(b) ? Array.from(b) : undefined;
    if (listA && listB) {
      if (listA.length !== listB.length) return note(`${path}.length`, listA.length, listB.length);
      listA.forEach((v, i) => walk(v, listB[i], `${path}[${i}]`));
      return;
    }
    if (isRecord(a) && isRecord(b) && !listA && !listB) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], `${path}.${key}`);
      return;
    }
    if (!Object.is(a, b)) note(path, JSON.stringify(a), JSON.stringify(b));
  };
  walk(actual, expected, what);
  const more = count > SHOWN ? `; and ${count - SHOWN} more` : '';
  if (count > 0) expect.fail(`${count} values differ: ${found.join('; ')}${more}`);
}

const isList = (v: unknown): v is ArrayLike<unknown> =>
  Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
