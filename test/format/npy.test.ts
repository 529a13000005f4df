import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, npyHeader } from '../../src/format/npy.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';

describe('npy header', () => {
  it('follows format version 1.0: magic, version, LE header length, 64-byte aligned dict ending in newline', () => {
    const h = npyHeader('float32', [3, 4]);
    expect([...h.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
    expect(h[6]).toBe(1);
    expect(h[7]).toBe(0);
    const len = h[8]! + 256 * h[9]!;
    expect(10 + len).toBe(h.length);
    expect(h.length % 64).toBe(0);
    const text = Buffer.from(h.subarray(10)).toString('latin1');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
  });

  it('writes 1-D shapes as a one-element tuple and names each dtype', () => {
    const text = (d: 'float64' | 'int32') => Buffer.from(npyHeader(d, [5]).subarray(10)).toString('latin1');
    expect(text('float64')).toContain("'descr': '<f8'");
    expect(text('int32')).toContain("'descr': '<i4'");
    expect(text('int32')).toContain("'shape': (5,)");
  });
});

describe('npy round trip', () => {
  it.each(['float32', 'float64', 'int32'] as const)('reads back what it wrote (%s)', (dtype) => {
    const a = ndarray(dtype, [2, 3]);
    a.data.set([1, -2, 3.5, 4, 1e6, -7]);
    const b = decodeNpy(encodeNpy(a));
    expect(b.dtype).toBe(dtype);
    expect(b.shape).toEqual([2, 3]);
    expect([...b.data]).toEqual([...a.data]);
  });

  it('stores the data little-endian right after the header', () => {
    const a = ndarray('int32', [2], Int32Array.from([1, 256]));
    const bytes = encodeNpy(a);
    expect([...bytes.subarray(bytes.length - 8)]).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('refuses truncated data and foreign dtypes', () => {
    const bytes = encodeNpy(ndarray('float32', [4]));
    expect(() => decodeNpy(bytes.subarray(0, bytes.length - 1))).toThrow(/needs 16/);
    const other = Buffer.from(bytes);
    other.write('<u2', other.indexOf('<f4'), 'latin1');
    expect(() => decodeNpy(other)).toThrow(/unsupported dtype/);
  });

  const hasNumpy = (() => {
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasNumpy)('is read by numpy as the same array', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pf-npy-'));
    const file = join(dir, 'a.npy');
    writeFileSync(file, encodeNpy(ndarray('float64', [2, 2], Float64Array.from([0.5, 1, 2, 4]))));
    const out = execFileSync('python3', [
      '-c',
      `import numpy as np; a=np.load(${JSON.stringify(file)}); print(a.dtype, a.shape, a.sum())`,
    ]);
    expect(out.toString().trim()).toBe('float64 (2, 2) 7.5');
  });
});

describe('Fortran-ordered .npy (numpy writes one for transposed or fancy-indexed arrays)', () => {
  it('is read back in C order', () => {
    // C order of [[1, 2, 3], [4, 5, 6]] (shape 2×3), and [2,3,4] arange, stored column-major.
    const fortran = (shape: number[], cOrder: number[]) => {
      const header = Buffer.from(npyHeader('float64', shape))
        .toString('latin1')
        .replace("'fortran_order': False", "'fortran_order': True ");
      const f = new Float64Array(cOrder.length);
      const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
      cOrder.forEach((v, c) => {
        const idx = shape.map((s, d) => Math.floor(c / strides[d]!) % s);
        let off = 0;
        for (let d = shape.length - 1; d >= 0; d--) off = off * shape[d]! + idx[d]!;
        f[off] = v;
      });
      return Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(f.buffer)]);
    };
    const a = decodeNpy(fortran([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(a.shape).toEqual([2, 3]);
    expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
    const cube = Array.from({ length: 24 }, (_, i) => i);
    expect([...decodeNpy(fortran([2, 3, 4], cube)).data]).toEqual(cube);
  });
});
