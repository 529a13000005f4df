import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { canonicalJson } from '../../src/hash/canonical-json.js';

/** A deep copy of `v` with every object's keys inserted in an order chosen by `pick`. */
function shuffleKeys(v: unknown, pick: (n: number) => number): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, pick));
  if (typeof v !== 'object' || v === null) return v;
  const entries = Object.entries(v);
  const out: Record<string, unknown> = {};
  while (entries.length > 0) {
    const [k, x] = entries.splice(pick(entries.length), 1)[0]!;
    // defineProperty: a generated `__proto__` key must stay an own key.
    Object.defineProperty(out, k, {
      value: shuffleKeys(x, pick),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

describe('canonicalJson', () => {
  it('does not depend on key order, at any depth', () => {
    const a = { b: 1, a: { y: [1, { q: 1, p: 2 }], x: 's' } };
    const b = { a: { x: 's', y: [1, { p: 2, q: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('is the same for any key order of any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.infiniteStream(fc.nat()), (value, picks) => {
        const it = picks[Symbol.iterator]();
        const shuffled = shuffleKeys(value, (n) => it.next().value! % n);
        expect(canonicalJson(shuffled)).toBe(canonicalJson(value));
      }),
    );
  });

  it('is valid JSON that parses back to an equal value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // JSON.stringify also writes -0 as 0, so the two agree on every JSON value.
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('gives 1e3, 1000 and 1000.0 written in YAML one spelling', () => {
    const spellings = ['1e3', '1000', '1000.0', '1.0e+3', '0x3E8'].map((s) => canonicalJson(parseYaml(`n: ${s}`)));
    expect(new Set(spellings).size).toBe(1);
    expect(canonicalJson(parseYaml('n: 1000.5'))).not.toBe(spellings[0]);
  });

  it('treats -0 as 0', () => {
    expect(canonicalJson(-0)).toBe(canonicalJson(0));
    expect(canonicalJson({ a: [-0] })).toBe(canonicalJson({ a: [0] }));
  });

  it('refuses NaN and ±Infinity instead of hashing them as null', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(() => canonicalJson(bad)).toThrow(TypeError);
      expect(() => canonicalJson({ deep: [1, { x: bad }] })).toThrow(/non-finite/);
    }
    expect(() => canonicalJson(parseYaml('x: .nan'))).toThrow(TypeError);
  });

  it('refuses values JSON cannot hold (functions, bigint, symbols)', () => {
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson(1n)).toThrow(TypeError);
    expect(() => canonicalJson(Symbol('s'))).toThrow(TypeError);
  });

  it('keeps the order of arrays, nested ones too', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson([[1, 2], [3]])).not.toBe(canonicalJson([[2, 1], [3]]));
    expect(canonicalJson([[1, 2], [3]])).not.toBe(canonicalJson([[3], [1, 2]]));
    expect(canonicalJson({ a: [{ k: 1 }, { k: 2 }] })).not.toBe(canonicalJson({ a: [{ k: 2 }, { k: 1 }] }));
  });

  it('drops undefined fields, so an absent key and an undefined one hash alike', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson({ x: { a: undefined, b: 2 } })).toBe(canonicalJson({ x: { b: 2 } }));
    // ...but null is a value.
    expect(canonicalJson({ a: 1, b: null })).not.toBe(canonicalJson({ a: 1 }));
  });

  it('tells apart values that differ only in type or nesting', () => {
    const values: unknown[] = [
      1,
      '1',
      true,
      'true',
      null,
      'null',
      [1],
      { 1: 1 },
      [],
      {},
      '',
      [[]],
      { a: {} },
      { a: [] },
    ];
    const out = values.map(canonicalJson);
    expect(new Set(out).size).toBe(values.length);
  });

  it('escapes keys and strings, so crafted keys cannot collide with structure', () => {
    expect(canonicalJson({ 'a":1,"b': 2 })).not.toBe(canonicalJson({ a: 1, b: 2 }));
    expect(JSON.parse(canonicalJson({ 'q"\n': 'v"\\' }))).toEqual({ 'q"\n': 'v"\\' });
  });
});
