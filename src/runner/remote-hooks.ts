import type { RemoteCache } from '../cache/remote/remote.js';
import { pullIfPresent, pushEntry } from '../cache/remote/transfer.js';
import type { CacheStore, Manifest } from '../cache/store.js';
import type { Reporter } from './reporter.js';

// The runner's two touch points with a shared cache: before a stage would run (local
// miss → remote has → pull → use) and after it is committed (push). A remote that is
// down costs a warning and local work, never the run.

export async function pullBeforeRun(remote: RemoteCache, cache: CacheStore, reporter: Reporter, stage: string, key: string): Promise<Manifest | undefined> {
  try {
    const manifest = await pullIfPresent(remote, cache, key);
    if (manifest) reporter.stageLog(stage, `pulled ${key.slice(0, 12)} from the remote cache ${remote.where}`);
    return manifest;
  } catch (err) {
    reporter.stageLog(stage, `warning: could not pull ${key.slice(0, 12)} from ${remote.where} (${(err as Error).message}); computing it here`);
    return undefined;
  }
}

export async function pushAfterCommit(remote: RemoteCache, cache: CacheStore, reporter: Reporter, stage: string, key: string): Promise<void> {
  try {
    if (await pushEntry(remote, cache, key)) reporter.stageLog(stage, `pushed ${key.slice(0, 12)} to the remote cache ${remote.where}`);
  } catch (err) {
    reporter.stageLog(stage, `warning: could not push ${key.slice(0, 12)} to ${remote.where} (${(err as Error).message}); \`paramflow cache push\` retries`);
  }
}
