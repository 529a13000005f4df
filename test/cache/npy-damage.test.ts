import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Layout } from '../../src/project/layout.js';
import { CacheStore, type Manifest } from '../../src/cache/store.js';
import { encodeNpy, NpyFormatError, decodeNpy } from '../../src/format/npy.js';
import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';

// Issue 18 item 12: a damaged .npy header said "not a .npy file (bad magic)", naming neither
// the file nor the cache entry. Bytes that match their recorded digest but do not decode
// (an entry written so) are reported as that entry's file.

const root = mkdtempSync(join(tmpdir(), 'pf-npy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function entryWith(key: string, bytes: Buffer): Manifest {
  const layout = new Layout(root);
  mkdirSync(layout.entry(key), { recursive: true });
  writeFileSync(join(layout.entry(key), 'Y.npy'), bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    key,
    stage: 'noise',
    type: 'add-noise',
    created: '',
    outputs: { Y: 'Y.npy' },
    files: { 'Y.npy': { sha256, size: bytes.length } as Manifest['files'][string] },
    metrics: {},
    details: {} as Manifest['details'],
    durationMs: 0,
  };
}

describe('a .npy in a cache entry that does not decode', () => {
  const good = encodeNpy(ndarray('float32', [2, 2], Float32Array.from([1, 2, 3, 4])));
  const cases: [string, Buffer][] = [
    ['bad magic', Buffer.concat([Buffer.from('XXXXXX'), good.subarray(6)])],
    [
      'header longer than the file',
      Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff]), good.subarray(10, 20)]),
    ],
    ['shape not numbers', Buffer.from(good.toString('latin1').replace("'shape': (2, 2)", "'shape': (x, 2)"), 'latin1')],
  ];
  for (const [what, bytes] of cases) {
    it(`${what}: PF_CACHE_CORRUPT naming the entry, its stage and Y.npy`, async () => {
      const key = createHash('sha256').update(what).digest('hex');
      const err = await new CacheStore(new Layout(root)).load(entryWith(key, bytes)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParamflowError);
      expect((err as ParamflowError).code).toBe('PF_CACHE_CORRUPT');
      expect((err as ParamflowError).message).toContain(
        `cache entry ${key.slice(0, 12)} (noise): Y.npy cannot be read: `,
      );
    });
  }

  it('decodeNpy refuses a header past the end and a non-numeric shape with NpyFormatError', () => {
    expect(() => decodeNpy(cases[1]![1])).toThrow(NpyFormatError);
    expect(() => decodeNpy(cases[2]![1])).toThrow(/shape/);
  });
});
