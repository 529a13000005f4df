import type { RemoteCache } from '../cache/remote/remote.js';
import { pullIfPresent, pushEntry } from '../cache/remote/transfer.js';
import type { CacheStore, Manifest } from '../cache/store.js';
import type { Reporter } from './reporter.js';
import type { SharedKeyHold, SharedKeyLock } from './shared-lock.js';

// The runner's two touch points with a shared cache: before a stage would run (local
// miss → remote has → pull → use) and after it is committed (push). A remote that is
// down costs a warning and local work, never the run.

export async function pullBeforeRun(
  remote: RemoteCache,
  cache: CacheStore,
  reporter: Reporter,
  stage: string,
  key: string,
): Promise<Manifest | undefined> {
  try {
    const manifest = await pullIfPresent(remote, cache, key);
    if (manifest) reporter.stageLog(stage, `pulled ${key.slice(0, 12)} from the remote cache ${remote.where}`);
    return manifest;
  } catch (err) {
    reporter.stageLog(
      stage,
      `warning: could not pull ${key.slice(0, 12)} from ${remote.where} (${(err as Error).message}); computing it here`,
    );
    return undefined;
  }
}

export async function pushAfterCommit(
  remote: RemoteCache,
  cache: CacheStore,
  reporter: Reporter,
  stage: string,
  key: string,
): Promise<void> {
  try {
    if (await pushEntry(remote, cache, key))
      reporter.stageLog(stage, `pushed ${key.slice(0, 12)} to the remote cache ${remote.where}`);
  } catch (err) {
    reporter.stageLog(
      stage,
      `warning: could not push ${key.slice(0, 12)} to ${remote.where} (${(err as Error).message}); \`paramflow cache push\` retries`,
    );
  }
}

/**
 * Under a queue worker: the key's lock across machines, so that one of them computes the
 * entry and the others, waiting here, then pull it. A lock server that fails costs a
 * warning (and maybe a duplicate computation), never the run.
 */
export async function takeSharedLock(
  shared: SharedKeyLock,
  reporter: Reporter,
  stage: string,
  key: string,
  o: { signal: AbortSignal; purpose: string },
): Promise<SharedKeyHold | undefined> {
  try {
    return await shared.acquire(key, {
      ...o,
      onWait: (holder) => reporter.stageWait(stage, `worker ${holder} (lock in ${shared.where})`),
    });
  } catch (err) {
    o.signal.throwIfAborted();
    reporter.stageLog(
      stage,
      `warning: could not lock ${key.slice(0, 12)} in ${shared.where} (${(err as Error).message}); computing it here unlocked`,
    );
    return undefined;
  }
}

export async function releaseSharedLock(
  hold: SharedKeyHold | undefined,
  reporter: Reporter,
  stage: string,
): Promise<void> {
  // Not released, the lease runs out by itself: the others wait longer, nothing worse.
  await hold
    ?.release()
    .catch((err: Error) =>
      reporter.stageLog(stage, `warning: could not release the shared lock (${err.message}); it expires by itself`),
    );
}
