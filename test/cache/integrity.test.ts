import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Layout } from '../../src/project/layout.js';
import { CorruptEntryError, lineageEntry } from '../../src/cache/lineage.js';
import { verifyCache } from '../../src/cache/maintenance.js';
import { openRemote } from '../../src/cache/remote/remote.js';
import { parseRemoteSpec } from '../../src/cache/remote/spec.js';
import { pushEntry } from '../../src/cache/remote/transfer.js';
import { CacheStore, MANIFEST, type CommitInput } from '../../src/cache/store.js';
import { computeStageKey } from '../../src/hash/stage-key.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';

// Issue 18 item 1, at the store's level: loads check digests, entries record lineage,
// verify follows it, and a re-execution's commit replaces an entry whose bytes differ.

let root: string;
let store: CacheStore;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pf-integrity-'));
  store = new CacheStore(new Layout(root));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function input(stage: string, scale: number, extra: Partial<CommitInput> = {}): CommitInput {
  const key = computeStageKey({ type: stage, version: '1', params: {}, inputs: {}, files: {}, env: {} });
  return {
    key: key.value,
    stage,
    details: key.details,
    outputs: {
      Y: ndarray('float64', [3], Float64Array.from([1, 2, 3].map((v) => v * scale))),
      model: { kind: 'folder', files: { 'weights.bin': Uint8Array.from([1, 2, 3, scale]) } },
    },
    metrics: { scale },
    durationMs: 1,
    ...extra,
  };
}

const file = (key: string, f: string) => join(store.layout.entry(key), f);
function flipLastByte(path: string): void {
  const b = readFileSync(path);
  b[b.length - 1] = b[b.length - 1]! ^ 0x40;
  writeFileSync(path, b);
}

describe('CacheStore.load checks digests', () => {
  it('refuses a same-size damaged array, naming the entry and file', async () => {
    const m = await store.commit(input('noise', 1));
    flipLastByte(file(m.key, 'Y.npy'));
    expect((await store.lookup(m.key)).hit).toBe(true); // sizes only: a hit, but never used unchecked
    const err = await store.load(m).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptEntryError);
    expect((err as CorruptEntryError).code).toBe('PF_CACHE_CORRUPT');
    expect((err as Error).message).toMatch(new RegExp(`cache entry ${m.key.slice(0, 12)} \\(noise\\): Y\\.npy digest`));
  });

  it('refuses a damaged or missing file of a folder output (model weights)', async () => {
    const m = await store.commit(input('train', 1));
    flipLastByte(file(m.key, 'model/weights.bin'));
    await expect(store.load(m)).rejects.toThrow(/model\/weights\.bin digest/);
    unlinkSync(file(m.key, 'model/weights.bin'));
    await expect(store.load(m)).rejects.toThrow(/model\/weights\.bin is missing/);
  });

  it('loads an intact entry', async () => {
    const m = await store.commit(input('noise', 2));
    const out = await store.load(m);
    expect(out.Y).toMatchObject({ kind: 'ndarray', shape: [3] });
    expect([...(out.Y as { data: Float64Array }).data]).toEqual([2, 4, 6]);
  });
});

describe('lineage', () => {
  it('is recorded, and verify removes the whole lineage of a damaged entry; old manifests are "lineage unknown"', async () => {
    const a = await store.commit(input('a', 1, { lineage: {} }));
    const b = await store.commit(input('b', 1, { lineage: { a: lineageEntry(a.key, a.files) } }));
    const c = await store.commit(input('c', 1, { lineage: { b: lineageEntry(b.key, b.files) } }));
    const old = await store.commit(input('old', 1)); // as written before lineage existed
    expect(JSON.parse(readFileSync(file(c.key, MANIFEST), 'utf8')).lineage).toEqual({
      b: lineageEntry(b.key, b.files),
    });

    flipLastByte(file(a.key, 'Y.npy'));
    const report = await verifyCache(store, { remove: true });
    expect(report.bad.map((x) => x.key).sort()).toEqual([a.key, b.key, c.key].sort());
    expect(report.bad.find((x) => x.key === c.key)!.problem).toMatch(/built from b entry .* which is bad/);
    expect(report.lineageUnknown).toEqual([old.key]);
    expect((await verifyCache(store, { remove: true })).bad).toEqual([]);
    expect(await store.keys()).toEqual([old.key]);
  });

  it('verify removes an entry whose input entry was replaced by other bytes', async () => {
    const a = await store.commit(input('a', 1, { lineage: {} }));
    const b = await store.commit(input('b', 1, { lineage: { a: lineageEntry(a.key, a.files) } }));
    await store.commit(input('a', 5, { lineage: {} }), { replace: true });
    const report = await verifyCache(store, { remove: true });
    expect(report.bad).toEqual([{ key: b.key, problem: expect.stringMatching(/built from a's Y\.npy/) }]);
  });
});

describe('commit of a re-execution', () => {
  it('replaces an entry whose bytes differ, keeps one whose bytes are equal, and returns this execution either way', async () => {
    const first = await store.commit(input('s', 1));
    const same = await store.commit({ ...input('s', 1), metrics: { scale: 1, run: 2 } }, { replace: true });
    expect(same.metrics).toEqual({ scale: 1, run: 2 });
    expect(JSON.parse(readFileSync(file(first.key, MANIFEST), 'utf8')).created).toBe(first.created);
    const other = await store.commit(input('s', 4), { replace: true });
    const found = await store.lookup(first.key);
    expect(found.hit && found.manifest.files).toEqual(other.files);
    expect(found.hit && found.manifest.metrics).toEqual({ scale: 4 });
    // Without `replace` (a normal commit racing another writer) the entry there is kept.
    await store.commit(input('s', 9));
    const kept = await store.lookup(first.key);
    expect(kept.hit && kept.manifest.metrics).toEqual({ scale: 4 });
  });
});

describe('push', () => {
  it('refuses to upload a damaged local entry (same size), so it never reaches other machines', async () => {
    const m = await store.commit(input('noise', 1));
    flipLastByte(file(m.key, 'Y.npy'));
    mkdirSync(join(root, 'remote'));
    const remote = await openRemote(parseRemoteSpec(join(root, 'remote'), root, { file: '<test>' }));
    await expect(pushEntry(remote, store, m.key)).rejects.toThrow(/damaged \(Y\.npy digest .*not pushed/);
    expect(await remote.has(m.key)).toBe(false);
  });
});
