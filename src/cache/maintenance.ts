import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../tracking/run-record.js';
import { HOST, isOwnerDead } from '../util/process-alive.js';
import { isLockLive } from './lock.js';
import type { CacheStore, Manifest } from './store.js';

export interface EntryInfo {
  key: string;
  stage?: string;
  type?: string;
  created?: string;
  size: number;
  state: 'complete' | 'incomplete' | 'corrupt';
  /** Run ids that used it, newest first. */
  usedBy: string[];
}

export async function listEntries(cache: CacheStore, runs: readonly RunRecord[]): Promise<EntryInfo[]> {
  const users = usage(runs);
  const out: EntryInfo[] = [];
  for (const key of await cache.keys()) {
    const found = await cache.lookup(key);
    const m = found.hit ? found.manifest : undefined;
    out.push({
      key,
      ...(m ? { stage: m.stage, type: m.type, created: m.created } : {}),
      size: await cache.size(key),
      state: found.hit ? 'complete' : found.reason === 'corrupt' ? 'corrupt' : 'incomplete',
      usedBy: users.get(key) ?? [],
    });
  }
  return out;
}

function usage(runs: readonly RunRecord[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const newest = [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1));
  for (const r of newest) for (const s of Object.values(r.stages)) m.set(s.key, [...(m.get(s.key) ?? []), r.runId]);
  return m;
}

export interface VerifyReport {
  checked: number;
  bad: { key: string; problem: string }[];
}

export type EntryCheck = { state: 'absent' } | { state: 'busy' } | { state: 'intact'; manifest: Manifest } | { state: 'corrupt'; problem: string };

/** One entry's digests re-read; nothing is removed (`cache verify` removes, `repro` only reports). */
export async function checkEntry(cache: CacheStore, key: string): Promise<EntryCheck> {
  if (await isLockLive(cache.layout.lock(key))) return { state: 'busy' }; // being written right now
  const found = await cache.lookup(key);
  if (!found.hit && found.reason === 'absent') return { state: 'absent' };
  const v = await cache.verify(key);
  return v.ok ? { state: 'intact', manifest: v.manifest } : { state: 'corrupt', problem: v.problem };
}

/** Re-reads every digest; a bad entry is named and removed (it would be recomputed). */
export async function verifyCache(cache: CacheStore, options: { remove: boolean }): Promise<VerifyReport> {
  const bad: VerifyReport['bad'] = [];
  const keys = await cache.keys();
  for (const key of keys) {
    const c = await checkEntry(cache, key);
    if (c.state === 'corrupt') {
      bad.push({ key, problem: c.problem });
      if (options.remove) await cache.remove(key);
    }
  }
  await removeLeftovers(cache);
  return { checked: keys.length, bad };
}

export interface GcReport {
  kept: string[];
  removed: { key: string; size: number }[];
}

/**
 * Keeps entries used by the newest `keep` runs, by any live run, or under a live lock;
 * removes the rest. Live runs recorded their keys before running, so none is lost.
 */
export async function gcCache(cache: CacheStore, runs: readonly RunRecord[], options: { keep: number; dryRun?: boolean }): Promise<GcReport> {
  const newest = [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1));
  const protectedKeys = new Set<string>();
  const live = (r: RunRecord) => r.status === 'RUNNING' && !isOwnerDead(r);
  for (const [i, r] of newest.entries()) {
    if (i < options.keep || live(r)) for (const s of Object.values(r.stages)) protectedKeys.add(s.key);
  }
  const report: GcReport = { kept: [], removed: [] };
  for (const key of await cache.keys()) {
    if (protectedKeys.has(key) || (await isLockLive(cache.layout.lock(key)))) {
      report.kept.push(key);
      continue;
    }
    const size = await cache.size(key);
    if (!options.dryRun) await cache.remove(key);
    report.removed.push({ key, size });
  }
  if (!options.dryRun) await removeLeftovers(cache);
  return report;
}

/**
 * Left-overs: temp folders of writers that died, and checkpoints of keys whose entry is
 * complete (a run killed between committing a stage and clearing its checkpoint).
 */
async function removeLeftovers(cache: CacheStore): Promise<void> {
  await removeDeadTemps(cache);
  for (const key of await readdir(cache.layout.checkpointsDir).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}$/.test(key) || (await isLockLive(cache.layout.lock(key)))) continue;
    if ((await cache.lookup(key)).hit) await rm(cache.layout.checkpoint(key), { recursive: true, force: true });
  }
}

/** Temp folders of writers that died: entries (`<key>.<pid>.<rand>`) and checkpoints (`.<key>.<pid>.<rand>[.old]`). */
async function removeDeadTemps(cache: CacheStore): Promise<void> {
  for (const dir of [cache.layout.tmpDir, cache.layout.checkpointsDir]) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(/\.(\d+)\.[0-9a-f]+(\.old)?$/.exec(n)?.[1]);
      if (Number.isFinite(pid) && isOwnerDead({ pid, host: HOST })) await rm(join(dir, n), { recursive: true, force: true });
    }
  }
}
