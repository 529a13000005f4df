import { describe, expect, it } from 'vitest';
import { expectIdentical } from '../helpers/identical.js';

describe('expectIdentical (test helper)', () => {
  it('passes identical values, typed arrays against arrays included', () => {
    expectIdentical({ w: new Float32Array([1, 2]), loss: [0.5] }, { w: [1, 2], loss: [0.5] });
  });

  it('fails on the last bit of one value among 200,000, naming where, quickly', () => {
    const a = Array.from({ length: 200_000 }, (_, i) => i / 7);
    const b = [...a];
    b[123_456] = Math.fround(b[123_456]!);
    expect(() => expectIdentical({ w: a }, { w: b }, 'run')).toThrow(/1 values differ: run\.w\[123456\]: /);
  });

  it('tells -0 from 0, counts every difference, and shows only the first few', () => {
    expect(() => expectIdentical([0], [-0])).toThrow(/value\[0\]: 0 ≠ 0/);
    expect(() => expectIdentical([1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 0, 0])).toThrow(
      /7 values differ: .*; and 2 more/,
    );
    expect(() => expectIdentical({ a: 1 }, { a: 1, b: 'x' })).toThrow(/value\.b: undefined ≠ "x"/);
  });
});
