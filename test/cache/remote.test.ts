import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Layout } from '../../src/project/layout.js';
import { openRemote, type RemoteCache } from '../../src/cache/remote/remote.js';
import { parseRemoteSpec } from '../../src/cache/remote/spec.js';
import { pullEntry, pullIfPresent, pushEntry } from '../../src/cache/remote/transfer.js';
import { CacheStore, COMPLETE, MANIFEST, type CommitInput } from '../../src/cache/store.js';
import { computeStageKey } from '../../src/hash/stage-key.js';
import { jsonArtifact, ndarray } from '../../src/stage-contract/ndarray.js';
import { startS3 } from '../helpers/s3.js';

const here = { file: 'test' };
const freshCache = () => new CacheStore(new Layout(mkdtempSync(join(tmpdir(), 'pf-remote-local-'))));

function input(n: number): CommitInput {
  const key = computeStageKey({ type: 'train', version: '1', params: { n }, inputs: {}, files: {}, env: {} });
  return {
    key: key.value,
    stage: 'train',
    details: key.details,
    outputs: {
      X: ndarray('float32', [2, 2], Float32Array.from([1, 2, 3, n])),
      summary: jsonArtifact({ n }),
      model: {
        kind: 'folder',
        files: { 'model.json': new TextEncoder().encode(`{"n":${n}}`), 'weights/w.bin': new Uint8Array([1, 2, 3, n]) },
      },
    },
    metrics: { loss: n / 10 },
    durationMs: 5,
  };
}

describe('remote cache specs', () => {
  it('parses folders (absolute, relative to the pipeline, file://) and s3:// buckets', () => {
    expect(parseRemoteSpec('/mnt/shared/pf', '/p', here)).toMatchObject({ kind: 'folder', path: '/mnt/shared/pf' });
    expect(parseRemoteSpec('../shared', '/p/q', here)).toMatchObject({ kind: 'folder', path: '/p/shared' });
    expect(parseRemoteSpec('file:///srv/c', '/p', here)).toMatchObject({ kind: 'folder', path: '/srv/c' });
    expect(parseRemoteSpec('s3://my-bucket/team/cache/', '/p', here)).toMatchObject({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'team/cache',
    });
    expect(parseRemoteSpec('s3://my-bucket', '/p', here)).toMatchObject({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
    });
  });

  it('refuses other schemes, bad bucket names and bad prefixes, located', () => {
    for (const bad of ['http://x/y', 's3://A_Bucket/x', 's3://ok-bucket/a//b', 's3://ok-bucket/../x']) {
      expect(() => parseRemoteSpec(bad, '/p', { file: 'p.yaml', line: 3, column: 11 })).toThrow(
        expect.objectContaining({ code: 'PF_SCHEMA', location: { file: 'p.yaml', line: 3, column: 11 } }),
      );
    }
  });

  it('a shared folder that does not exist is bad input (exit 2), and nothing is created', async () => {
    const missing = join(tmpdir(), `pf-no-such-${process.pid}`, 'cache');
    await expect(openRemote(parseRemoteSpec(missing, '/', here))).rejects.toMatchObject({
      code: 'PF_FILE_NOT_FOUND',
      exitCode: 2,
    });
    expect(existsSync(missing)).toBe(false);
  });
});

// The same contract for both kinds of remote, each against real storage.
const kinds: [string, () => Promise<{ remote: RemoteCache; close: () => Promise<void> }>][] = [
  [
    'a shared folder',
    async () => ({
      remote: await openRemote(parseRemoteSpec(mkdtempSync(join(tmpdir(), 'pf-remote-')), '/', here)),
      close: async () => undefined,
    }),
  ],
  [
    'an S3 bucket (s3rver)',
    async () => {
      const s3 = await startS3();
      const saved = Object.fromEntries(Object.keys(s3.env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, s3.env);
      const remote = await openRemote(parseRemoteSpec('s3://pf-cache/team/cache', '/', here));
      const restore = () => {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      };
      return { remote, close: async () => (restore(), s3.close()) };
    },
  ],
];

describe.each(kinds)('remote cache on %s', (_name, open) => {
  let remote: RemoteCache;
  let close: () => Promise<void>;
  beforeAll(async () => ({ remote, close } = await open()));
  afterAll(async () => close());

  it(
    'a 40 MB array goes up in parts and comes down in chunks, never whole, and arrives intact',
    { timeout: 60_000 },
    async () => {
      const a = freshCache();
      const big = input(7);
      const values = Float32Array.from({ length: 10_000_000 }, (_, i) => Math.sin(i));
      const m = await a.commit({ ...big, outputs: { ...big.outputs, X: ndarray('float32', [10_000, 1000], values) } });
      expect(await pushEntry(remote, a, m.key)).toBe(true);
      let chunks = 0;
      let largest = 0;
      for await (const c of await remote.read(m.key, 'X.npy')) {
        chunks++;
        largest = Math.max(largest, c.length);
      }
      expect(chunks).toBeGreaterThan(4);
      expect(largest).toBeLessThan(20_000_000);
      const b = freshCache();
      const pulled = await pullEntry(remote, b, m.key);
      expect(pulled.files['X.npy']).toEqual(m.files['X.npy']);
      expect((await b.verify(m.key)).ok).toBe(true);
    },
  );

  it("push then pull into another machine's empty cache gives the same entry, file for file", async () => {
    const a = freshCache();
    const m = await a.commit(input(1));
    expect(await remote.has(m.key)).toBe(false);
    expect(await pushEntry(remote, a, m.key)).toBe(true);
    expect(await pushEntry(remote, a, m.key)).toBe(false); // already there: not uploaded again
    expect(await remote.has(m.key)).toBe(true);
    expect(await remote.keys()).toContain(m.key);

    const b = freshCache();
    const got = await pullIfPresent(remote, b, m.key);
    expect(got?.files).toEqual(m.files);
    for (const f of [...Object.keys(m.files), MANIFEST, COMPLETE]) {
      expect(readFileSync(join(b.layout.entry(m.key), f))).toEqual(readFileSync(join(a.layout.entry(m.key), f)));
    }
    expect((await b.verify(m.key)).ok).toBe(true);
    expect(readdirSync(b.layout.tmpDir)).toEqual([]);
    expect(await pullIfPresent(remote, freshCache(), input(99).key)).toBeUndefined();
  });

  it('two machines pushing the same entry at once leave one complete entry', async () => {
    const a = freshCache();
    const b = freshCache();
    const m = await a.commit(input(5));
    await b.commit(input(5));
    const pushed = await Promise.all([pushEntry(remote, a, m.key), pushEntry(remote, b, m.key)]);
    expect(pushed).toContain(true);
    expect((await remote.keys()).filter((k) => k === m.key)).toHaveLength(1);
    const c = freshCache();
    await pullEntry(remote, c, m.key);
    expect((await c.verify(m.key)).ok).toBe(true);
  });

  it('an upload cut short before its COMPLETE marker is not an entry', async () => {
    const a = freshCache();
    const m = await a.commit(input(2));
    await writePartial(remote, m.key, a.layout.entry(m.key), Object.keys(m.files));
    expect(await remote.has(m.key)).toBe(false);
    expect(await remote.keys()).not.toContain(m.key);
    expect(await pullIfPresent(remote, freshCache(), m.key)).toBeUndefined();
    // ... and a full push afterwards makes it one.
    expect(await pushEntry(remote, a, m.key)).toBe(true);
    expect(await remote.keys()).toContain(m.key);
  });

  it('a remote file that does not match its manifest is refused and leaves nothing in the local cache', async () => {
    const a = freshCache();
    const m = await a.commit(input(4));
    const tampered = mkdtempSync(join(tmpdir(), 'pf-tampered-'));
    await import('node:fs/promises').then((fs) => fs.cp(a.layout.entry(m.key), tampered, { recursive: true }));
    const first = Object.keys(m.files).find((f) => f.endsWith('.npy'))!;
    const bytes = readFileSync(join(tampered, first));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(join(tampered, first), bytes);
    await remote.write(m.key, tampered, Object.keys(m.files));
    const b = freshCache();
    await expect(pullEntry(remote, b, m.key)).rejects.toThrow(/does not match its manifest/);
    expect((await b.lookup(m.key)).hit).toBe(false);
    expect(readdirSync(b.layout.tmpDir)).toEqual([]);
    rmSync(tampered, { recursive: true, force: true });
  });
});

/** Writes an entry's files and manifest but not its marker: an upload cut short. */
async function writePartial(remote: RemoteCache, key: string, dir: string, files: string[]): Promise<void> {
  const staged = mkdtempSync(join(tmpdir(), 'pf-partial-'));
  const fs = await import('node:fs/promises');
  for (const f of [...files, MANIFEST]) {
    await fs.mkdir(join(staged, f, '..'), { recursive: true });
    await fs.copyFile(join(dir, f), join(staged, f));
  }
  // A write that fails on the marker (missing in `staged`) stops after the other files.
  await remote.write(key, staged, files).catch(() => undefined);
}
