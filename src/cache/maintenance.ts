import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HOST, isOwnerDead } from '../util/process-alive.js';
import { isLockLive } from '../project/lock.js';
import { lineageEntry, lineageMismatch } from './lineage.js';
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

/** What gc and ls need of a recorded run (a run record has it): its id, whether it may still be writing, and the keys its stages used. */
export interface CacheUser {
  runId: string;
  status: string;
  pid: number;
  host: string;
  stages: Readonly<Record<string, { key: string }>>;
}

export async function listEntries(cache: CacheStore, runs: readonly CacheUser[]): Promise<EntryInfo[]> {
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

function usage(runs: readonly CacheUser[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const newest = [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1));
  for (const r of newest) for (const s of Object.values(r.stages)) m.set(s.key, [...(m.get(s.key) ?? []), r.runId]);
  return m;
}

export interface VerifyReport {
  checked: number;
  bad: { key: string; problem: string }[];
  /** Intact entries whose manifest records no lineage (written before it existed): their inputs cannot be checked. */
  lineageUnknown: string[];
}

export type EntryCheck =
  | { state: 'absent' }
  | { state: 'busy' }
  | { state: 'intact'; manifest: Manifest }
  | { state: 'corrupt'; problem: string };

/** One entry's digests re-read; nothing is removed (`cache verify` removes, `repro` only reports). */
export async function checkEntry(cache: CacheStore, key: string): Promise<EntryCheck> {
  if (await isLockLive(cache.layout.lock(key))) return { state: 'busy' }; // being written right now
  const found = await cache.lookup(key);
  if (!found.hit && found.reason === 'absent') return { state: 'absent' };
  const v = await cache.verify(key);
  return v.ok ? { state: 'intact', manifest: v.manifest } : { state: 'corrupt', problem: v.problem };
}

/**
 * Re-reads every digest, then each entry's lineage: an entry built from input bytes other
 * than what its input entries hold now (damaged, or replaced), or from a bad entry, is bad
 * too — transitively, the whole lineage. Bad entries are named and removed (recomputed by
 * the next run). An input entry that is absent (collected) cannot be compared: not bad.
 */
export async function verifyCache(cache: CacheStore, options: { remove: boolean }): Promise<VerifyReport> {
  const keys = await cache.keys();
  const own = new Map<string, EntryCheck>();
  for (const key of keys) own.set(key, await checkEntry(cache, key));
  const verdict = new Map<string, string | null>(); // problem, or null when good
  const lineageUnknown: string[] = [];
  const judge = (key: string): string | null => {
    if (verdict.has(key)) return verdict.get(key)!;
    const c = own.get(key);
    let problem: string | null = null;
    if (c?.state === 'corrupt') problem = c.problem;
    else if (c?.state === 'intact' && !c.manifest.lineage) lineageUnknown.push(key);
    else if (c?.state === 'intact') {
      for (const [from, recorded] of Object.entries(c.manifest.lineage!)) {
        const input = own.get(recorded.key);
        if (!input || input.state !== 'intact') {
          if (input?.state === 'corrupt')
            problem = `built from ${from} entry ${recorded.key.slice(0, 12)}, which is damaged (${input.problem})`;
        } else if (judge(recorded.key) !== null) {
          problem = `built from ${from} entry ${recorded.key.slice(0, 12)}, which is bad (${judge(recorded.key)})`;
        } else {
          const why = lineageMismatch(from, recorded, lineageEntry(recorded.key, input.manifest.files));
          if (why) problem = why;
        }
        if (problem) break;
      }
    }
    verdict.set(key, problem);
    return problem;
  };
  const bad: VerifyReport['bad'] = [];
  for (const key of keys) {
    const problem = judge(key);
    if (problem !== null) bad.push({ key, problem });
  }
  if (options.remove) for (const b of bad) await cache.remove(b.key);
  await removeLeftovers(cache);
  return { checked: keys.length, bad, lineageUnknown: lineageUnknown.sort() };
}

export interface GcReport {
  kept: string[];
  removed: { key: string; size: number }[];
}

/**
 * Keeps entries used by the newest `keep` runs, by any live run, or under a live lock;
 * removes the rest. Live runs recorded their keys before running, so none is lost.
 */
export async function gcCache(
  cache: CacheStore,
  runs: readonly CacheUser[],
  options: { keep: number; dryRun?: boolean },
): Promise<GcReport> {
  const newest = [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1));
  const protectedKeys = new Set<string>();
  const live = (r: CacheUser) => r.status === 'RUNNING' && !isOwnerDead(r);
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

/**
 * Temp folders of writers that died: entries (`<key>.<pid>.<rand>`), the arrays a stage was
 * streaming (`<key>.<pid>.<rand>.arrays`) and checkpoints (`.<key>.<pid>.<rand>[.old]`).
 */
async function removeDeadTemps(cache: CacheStore): Promise<void> {
  for (const dir of [cache.layout.tmpDir, cache.layout.checkpointsDir]) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(/\.(\d+)\.[0-9a-f]+(\.old|\.arrays)?$/.exec(n)?.[1]);
      if (Number.isFinite(pid) && isOwnerDead({ pid, host: HOST }))
        await rm(join(dir, n), { recursive: true, force: true });
    }
  }
}
