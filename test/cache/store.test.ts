import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Layout } from '../../src/project/layout.js';
import { CacheStore, COMPLETE, MANIFEST, type CommitInput } from '../../src/cache/store.js';
import { computeStageKey } from '../../src/hash/stage-key.js';
import { jsonArtifact, ndarray } from '../../src/stage-contract/ndarray.js';

let root: string;
let layout: Layout;
let store: CacheStore;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pf-store-'));
  layout = new Layout(root);
  store = new CacheStore(layout);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function input(n = 1): CommitInput {
  const key = computeStageKey({ type: 'simulate', version: '1', params: { n }, inputs: {}, files: {}, env: {} });
  return {
    key: key.value,
    stage: 'simulate',
    details: key.details,
    outputs: {
      X: ndarray('float32', [2, 3], Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5 * n])),
      folds: ndarray('int32', [4], Int32Array.from([0, 1, -1, 3])),
      summary: jsonArtifact({ n, names: ['A', 'B'], nested: { ok: true } }),
    },
    metrics: { rmse: 0.25 },
    durationMs: 12,
  };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const entryFile = (key: string, file: string) => join(layout.entry(key), file);

describe('CacheStore', () => {
  it('misses an absent key', async () => {
    expect(await store.lookup('0'.repeat(64))).toEqual({ hit: false, reason: 'absent' });
  });

  it('hits a committed entry, and its manifest describes it', async () => {
    const inp = input();
    const committed = await store.commit(inp);
    const found = await store.lookup(inp.key);
    expect(found.hit).toBe(true);
    if (!found.hit) return;
    expect(found.manifest).toEqual(committed);
    expect(found.manifest).toMatchObject({
      key: inp.key,
      stage: 'simulate',
      type: 'simulate',
      metrics: { rmse: 0.25 },
      durationMs: 12,
      details: inp.details,
    });
    expect(found.manifest.outputs).toEqual({ X: 'X.npy', folds: 'folds.npy', summary: 'summary.json' });
    expect(existsSync(entryFile(inp.key, COMPLETE))).toBe(true);
  });

  it('loads back equal arrays and JSON artifacts', async () => {
    const inp = input();
    await store.commit(inp);
    const found = await store.lookup(inp.key);
    if (!found.hit) throw new Error('expected a hit');
    const loaded = await store.load(found.manifest);
    expect(Object.keys(loaded).sort()).toEqual(['X', 'folds', 'summary']);
    for (const name of ['X', 'folds'] as const) {
      const [a, b] = [loaded[name]!, inp.outputs[name]!];
      if (a.kind !== 'ndarray' || b.kind !== 'ndarray') throw new Error('expected arrays');
      expect(a.dtype).toBe(b.dtype);
      expect(a.shape).toEqual(b.shape);
      expect(a.data).toEqual(b.data);
    }
    expect(loaded.summary).toEqual(inp.outputs.summary);
  });

  it('records a sha256 and size per file that match the files on disk', async () => {
    const inp = input();
    const m = await store.commit(inp);
    expect(Object.keys(m.files).sort()).toEqual(['X.npy', 'folds.npy', 'summary.json']);
    for (const [file, meta] of Object.entries(m.files)) {
      const path = entryFile(inp.key, file);
      expect(meta.sha256).toBe(sha256(path));
      expect(meta.size).toBe(readFileSync(path).length);
    }
    // The manifest on disk says the same as the one returned.
    expect(JSON.parse(readFileSync(entryFile(inp.key, MANIFEST), 'utf8'))).toEqual(m);
  });

  it('passes verify when nothing changed', async () => {
    const inp = input();
    await store.commit(inp);
    expect((await store.verify(inp.key)).ok).toBe(true);
  });

  it('calls an entry without COMPLETE incomplete, not a hit', async () => {
    const inp = input();
    await store.commit(inp);
    unlinkSync(entryFile(inp.key, COMPLETE));
    expect(await store.lookup(inp.key)).toEqual({ hit: false, reason: 'incomplete' });
    const v = await store.verify(inp.key);
    expect(v.ok).toBe(false);
  });

  it('calls a truncated file corrupt (size mismatch) at lookup', async () => {
    const inp = input();
    const m = await store.commit(inp);
    truncateSync(entryFile(inp.key, 'X.npy'), m.files['X.npy']!.size - 4);
    const found = await store.lookup(inp.key);
    expect(found.hit).toBe(false);
    if (found.hit) return;
    expect(found.reason).toBe('corrupt');
    expect(found.detail).toContain('X.npy');
  });

  it('calls a missing file corrupt', async () => {
    const inp = input();
    await store.commit(inp);
    unlinkSync(entryFile(inp.key, 'folds.npy'));
    const found = await store.lookup(inp.key);
    expect(found).toMatchObject({ hit: false, reason: 'corrupt' });
  });

  it('calls an unreadable manifest corrupt', async () => {
    const inp = input();
    await store.commit(inp);
    writeFileSync(entryFile(inp.key, MANIFEST), '{ not json');
    expect(await store.lookup(inp.key)).toMatchObject({ hit: false, reason: 'corrupt' });
  });

  it('lets verify catch a same-size byte flip that lookup (sizes only) does not', async () => {
    const inp = input();
    await store.commit(inp);
    const path = entryFile(inp.key, 'X.npy');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(path, bytes);
    expect((await store.lookup(inp.key)).hit).toBe(true);
    const v = await store.verify(inp.key);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problem).toContain('X.npy');
  });

  it('removes an entry, and removing an absent one is a no-op', async () => {
    const inp = input();
    await store.commit(inp);
    await store.remove(inp.key);
    expect(existsSync(layout.entry(inp.key))).toBe(false);
    expect(await store.lookup(inp.key)).toEqual({ hit: false, reason: 'absent' });
    expect(await store.keys()).toEqual([]);
    await expect(store.remove(inp.key)).resolves.toBeUndefined();
    expect(readdirSync(layout.tmpDir)).toEqual([]);
  });

  it('keeps the existing valid entry when the same key is committed again', async () => {
    const inp = input();
    const first = await store.commit(inp);
    const again = input();
    again.metrics = { rmse: 99 };
    await store.commit(again);
    const found = await store.lookup(inp.key);
    expect(found.hit).toBe(true);
    if (found.hit) expect(found.manifest).toEqual(first);
    expect((await store.verify(inp.key)).ok).toBe(true);
    expect(readdirSync(layout.tmpDir)).toEqual([]);
  });

  it('replaces a broken entry when the same key is committed again', async () => {
    const inp = input();
    const m = await store.commit(inp);
    truncateSync(entryFile(inp.key, 'X.npy'), m.files['X.npy']!.size - 1);
    await store.commit(input());
    expect((await store.lookup(inp.key)).hit).toBe(true);
    expect((await store.verify(inp.key)).ok).toBe(true);
  });

  it('replaces an incomplete entry when the same key is committed again', async () => {
    const inp = input();
    await store.commit(inp);
    unlinkSync(entryFile(inp.key, COMPLETE));
    await store.commit(input());
    expect((await store.lookup(inp.key)).hit).toBe(true);
  });

  it('leaves no temp folders behind after commits', async () => {
    await store.commit(input(1));
    await store.commit(input(2));
    expect(readdirSync(layout.tmpDir)).toEqual([]);
    expect((await store.keys()).sort()).toEqual([input(1).key, input(2).key].sort());
  });

  it('lists only entry folders as keys (not .tmp or stray files)', async () => {
    const inp = input();
    await store.commit(inp);
    writeFileSync(join(layout.cacheDir, 'README'), 'x');
    expect(await store.keys()).toEqual([inp.key]);
  });

  it('sizes an entry as the sum of its files', async () => {
    const inp = input();
    await store.commit(inp);
    const dir = layout.entry(inp.key);
    const total = readdirSync(dir).reduce((s, f) => s + readFileSync(join(dir, f)).length, 0);
    expect(await store.size(inp.key)).toBe(total);
    expect(await store.size('f'.repeat(64))).toBe(0);
  });

  it('gives different keys their own entries', async () => {
    const [a, b] = [input(1), input(2)];
    expect(a.key).not.toBe(b.key);
    await store.commit(a);
    await store.commit(b);
    const [fa, fb] = [await store.lookup(a.key), await store.lookup(b.key)];
    if (!fa.hit || !fb.hit) throw new Error('expected hits');
    expect(fa.manifest.files['X.npy']!.sha256).not.toBe(fb.manifest.files['X.npy']!.sha256);
  });
});

describe('Layout', () => {
  it('puts everything under <root>/.paramflow', () => {
    const l = new Layout('/p');
    expect(l.home).toBe(join('/p', '.paramflow'));
    expect(l.entry('k')).toBe(join('/p', '.paramflow', 'cache', 'k'));
    expect(l.tmpDir).toBe(join('/p', '.paramflow', 'cache', '.tmp'));
    expect(l.lock('k')).toBe(join('/p', '.paramflow', 'locks', 'k.lock'));
    expect(l.run('r')).toBe(join('/p', '.paramflow', 'runs', 'r'));
  });
});
