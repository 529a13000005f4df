import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../../src/project/lock.js';
import { Layout } from '../../src/project/layout.js';
import { gcCache, listEntries, verifyCache } from '../../src/cache/maintenance.js';
import { CacheStore, COMPLETE } from '../../src/cache/store.js';
import { computeStageKey } from '../../src/hash/stage-key.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { runRecord } from '../helpers/run-record.js';
import { deadPid } from '../helpers/processes.js';

let root: string;
let layout: Layout;
let cache: CacheStore;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pf-maint-'));
  layout = new Layout(root);
  cache = new CacheStore(layout);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Commits a small entry and returns its key. */
async function entry(n: number): Promise<string> {
  const key = computeStageKey({ type: 'simulate', version: '1', params: { n }, inputs: {}, files: {}, env: {} });
  await cache.commit({
    key: key.value,
    stage: `s${n}`,
    details: key.details,
    outputs: { X: ndarray('float64', [3], Float64Array.from([n, n + 1, n + 2])) },
    metrics: {},
    durationMs: 1,
  });
  return key.value;
}

const ID = (i: number) => `20260101-0000${String(i).padStart(2, '0')}-000-abcd`;

describe('gcCache', () => {
  it('keeps the entries of the newest N runs and removes the rest', async () => {
    const [k1, k2, k3, orphan] = [await entry(1), await entry(2), await entry(3), await entry(4)];
    // Given out of order: gc must sort by run id (time), not trust the list order.
    const runs = [runRecord(ID(2), { a: k2 }), runRecord(ID(3), { a: k3, b: k2 }), runRecord(ID(1), { a: k1 })];
    const report = await gcCache(cache, runs, { keep: 2 });
    expect(report.kept.sort()).toEqual([k2, k3].sort());
    expect(report.removed.map((r) => r.key).sort()).toEqual([k1, orphan].sort());
    for (const r of report.removed) expect(r.size).toBeGreaterThan(0);
    expect((await cache.keys()).sort()).toEqual([k2, k3].sort());
    expect((await cache.lookup(k2)).hit).toBe(true);
  });

  it('removes every unlocked entry with --keep 0 and no live run', async () => {
    const k = await entry(1);
    const report = await gcCache(cache, [runRecord(ID(1), { a: k })], { keep: 0 });
    expect(report.removed.map((r) => r.key)).toEqual([k]);
    expect(await cache.keys()).toEqual([]);
  });

  it('keeps the entries of an older RUNNING run whose process is alive', async () => {
    const [k1, k2] = [await entry(1), await entry(2)];
    const runs = [runRecord(ID(1), { a: k1 }, { status: 'RUNNING', pid: process.pid }), runRecord(ID(2), { a: k2 })];
    const report = await gcCache(cache, runs, { keep: 1 });
    expect(report.kept.sort()).toEqual([k1, k2].sort());
    expect(report.removed).toEqual([]);
  });

  it('removes the entries of a RUNNING run whose process is dead', async () => {
    const [k1, k2] = [await entry(1), await entry(2)];
    const runs = [
      runRecord(ID(1), { a: k1 }, { status: 'RUNNING', pid: await deadPid() }),
      runRecord(ID(2), { a: k2 }),
    ];
    const report = await gcCache(cache, runs, { keep: 1 });
    expect(report.kept).toEqual([k2]);
    expect(report.removed.map((r) => r.key)).toEqual([k1]);
  });

  it('keeps an entry that a live process holds a lock on', async () => {
    const [locked, free] = [await entry(1), await entry(2)];
    const held = await acquireLock(layout.lock(locked));
    try {
      const report = await gcCache(cache, [], { keep: 0 });
      expect(report.kept).toEqual([locked]);
      expect(report.removed.map((r) => r.key)).toEqual([free]);
      expect((await cache.lookup(locked)).hit).toBe(true);
    } finally {
      await held.release();
    }
  });

  it('removes nothing on a dry run, but reports what it would remove', async () => {
    const [k1, k2] = [await entry(1), await entry(2)];
    const report = await gcCache(cache, [runRecord(ID(1), { a: k2 })], { keep: 1, dryRun: true });
    expect(report.removed.map((r) => r.key)).toEqual([k1]);
    expect(report.kept).toEqual([k2]);
    expect((await cache.keys()).sort()).toEqual([k1, k2].sort());
    expect((await cache.lookup(k1)).hit).toBe(true);
  });

  it('removes temp folders of dead writers, and keeps those of live ones', async () => {
    await entry(1);
    const dead = join(layout.tmpDir, `${'a'.repeat(64)}.${await deadPid()}.0a1b2c3d`);
    const live = join(layout.tmpDir, `${'b'.repeat(64)}.${process.pid}.0a1b2c3d`);
    mkdirSync(dead, { recursive: true });
    mkdirSync(live, { recursive: true });
    await gcCache(cache, [], { keep: 0, dryRun: true });
    expect(existsSync(dead)).toBe(true);
    await gcCache(cache, [], { keep: 0 });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});

describe('verifyCache', () => {
  it('checks every entry and finds nothing wrong in a sound cache', async () => {
    await entry(1);
    await entry(2);
    // These entries were committed without lineage: intact, but what they came from is unknown.
    expect(await verifyCache(cache, { remove: true })).toEqual({
      checked: 2,
      bad: [],
      lineageUnknown: (await cache.keys()).sort(),
    });
    expect(await cache.keys()).toHaveLength(2);
  });

  it('names a corrupted entry (same size, flipped byte) and removes it', async () => {
    const [good, bad] = [await entry(1), await entry(2)];
    const file = join(layout.entry(bad), 'X.npy');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    writeFileSync(file, bytes);
    const report = await verifyCache(cache, { remove: true });
    expect(report.checked).toBe(2);
    expect(report.bad.map((b) => b.key)).toEqual([bad]);
    expect(report.bad[0]!.problem).toContain('X.npy');
    expect(await cache.keys()).toEqual([good]);
  });

  it('only reports when asked not to remove', async () => {
    const bad = await entry(1);
    rmSync(join(layout.entry(bad), COMPLETE));
    const report = await verifyCache(cache, { remove: false });
    expect(report.bad.map((b) => b.key)).toEqual([bad]);
    expect(report.bad[0]!.problem).toMatch(/incomplete/);
    expect(await cache.keys()).toEqual([bad]);
  });

  it('skips an entry under a live lock (it is being written)', async () => {
    const k = await entry(1);
    rmSync(join(layout.entry(k), COMPLETE));
    const held = await acquireLock(layout.lock(k));
    try {
      const report = await verifyCache(cache, { remove: true });
      expect(report.bad).toEqual([]);
      expect(await cache.keys()).toEqual([k]);
    } finally {
      await held.release();
    }
  });

  it('leaves no removed entries behind in the temp folder', async () => {
    const bad = await entry(1);
    rmSync(join(layout.entry(bad), 'X.npy'));
    await verifyCache(cache, { remove: true });
    expect(readdirSync(layout.tmpDir)).toEqual([]);
  });
});

describe('listEntries', () => {
  it('describes each entry with its state and the runs that used it, newest first', async () => {
    const [k1, k2] = [await entry(1), await entry(2)];
    rmSync(join(layout.entry(k2), COMPLETE));
    const runs = [runRecord(ID(2), { a: k1 }), runRecord(ID(1), { a: k1 })];
    const list = await listEntries(cache, runs);
    const byKey = new Map(list.map((e) => [e.key, e]));
    expect(byKey.get(k1)).toMatchObject({ state: 'complete', stage: 's1', type: 'simulate', usedBy: [ID(2), ID(1)] });
    expect(byKey.get(k1)!.size).toBeGreaterThan(0);
    expect(byKey.get(k2)).toMatchObject({ state: 'incomplete', usedBy: [] });
  });
});
