import { describe, expect, it } from 'vitest';

import { typedArrayFromBytes } from '../../src/stage-contract/ndarray.js';

describe('typedArrayFromBytes', () => {
  it('views a large aligned buffer in place (a cached input is not copied)', () => {
    const bytes = Buffer.alloc(128 + 4 * 4096);
    const data = typedArrayFromBytes('float32', bytes.subarray(128));
    bytes.writeFloatLE(1.5, 128 + 4);
    expect(data.length).toBe(4096);
    expect(data[1]).toBe(1.5);
  });

  it("copies bytes at an unaligned offset, and small Buffers (they share Node's pool)", () => {
    const big = Buffer.alloc(2 + 4 * 4096);
    big.writeFloatLE(2.5, 2);
    const unaligned = typedArrayFromBytes('float32', big.subarray(2));
    expect(unaligned[0]).toBe(2.5);
    const small = Buffer.allocUnsafe(16).fill(0); // from the pool
    const copy = typedArrayFromBytes('float64', small.subarray(0, 16));
    small.writeDoubleLE(7, 0);
    expect(copy[0]).toBe(0);
  });
});
