import type { CacheRemoteFlags } from '../command-options.js';
import { dirname } from 'node:path';
import { Layout } from '../../project/layout.js';
import { openRemote } from '../../cache/remote/remote.js';
import { parseRemoteSpec, REMOTE_HINT, type RemoteSpec } from '../../cache/remote/spec.js';
import { pullEntry, pushEntry } from '../../cache/remote/transfer.js';
import { CacheStore } from '../../cache/store.js';
import { loadRunnablePipeline } from '../../pipeline/load.js';
import { findProjectRoot } from '../../project/root.js';
import { EXIT, ParamflowError } from '../../util/errors.js';
import { builtinRegistry } from '../../stage-contract/registry.js';

interface Transfer {
  remote: string;
  transferred: string[];
  skipped: number;
  failed: { key: string; problem: string }[];
}

/** `cache push [file]`: every complete local entry the remote lacks, marker last. */
export async function cachePushCommand(file: string | undefined, flags: CacheRemoteFlags): Promise<number> {
  const { cache, spec } = await target(file, flags);
  const remote = await openRemote(spec);
  const out: Transfer = { remote: remote.where, transferred: [], skipped: 0, failed: [] };
  for (const key of await cache.keys()) {
    if (!(await cache.lookup(key)).hit) continue;
    try {
      if (await pushEntry(remote, cache, key)) out.transferred.push(key);
      else out.skipped++;
    } catch (err) {
      out.failed.push({ key, problem: (err as Error).message });
    }
  }
  return report('pushed', out, flags);
}

/** `cache pull [file]`: every complete remote entry the local cache lacks, digests checked. */
export async function cachePullCommand(file: string | undefined, flags: CacheRemoteFlags): Promise<number> {
  const { cache, spec } = await target(file, flags);
  const remote = await openRemote(spec);
  const out: Transfer = { remote: remote.where, transferred: [], skipped: 0, failed: [] };
  for (const key of await remote.keys()) {
    if ((await cache.lookup(key)).hit) {
      out.skipped++;
      continue;
    }
    try {
      await cache.remove(key); // an incomplete local leftover would block the rename
      await pullEntry(remote, cache, key);
      out.transferred.push(key);
    } catch (err) {
      out.failed.push({ key, problem: (err as Error).message });
    }
  }
  return report('pulled', out, flags);
}

function report(verb: string, out: Transfer, flags: CacheRemoteFlags): number {
  if (flags.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  else {
    for (const k of out.transferred) process.stdout.write(`${verb} ${k.slice(0, 12)}\n`);
    for (const f of out.failed) process.stdout.write(`failed ${f.key.slice(0, 12)}: ${f.problem}\n`);
    process.stdout.write(
      `${verb} ${out.transferred.length} entries (${out.remote}), ${out.skipped} already there, ${out.failed.length} failed\n`,
    );
  }
  return out.failed.length === 0 ? EXIT.ok : EXIT.failed;
}

/** The project's cache and the remote: --remote, else PARAMFLOW_CACHE_REMOTE, else the pipeline file's cache.remote. */
async function target(
  file: string | undefined,
  flags: CacheRemoteFlags,
): Promise<{ cache: CacheStore; spec: RemoteSpec }> {
  if (flags.remote !== undefined) {
    const root = file ? findProjectRoot(dirname(file)) : findProjectRoot(process.cwd());
    return {
      cache: new CacheStore(new Layout(root)),
      spec: parseRemoteSpec(flags.remote, process.cwd(), { file: '<command line>' }),
    };
  }
  if (file) {
    const p = await loadRunnablePipeline(file, { registry: await builtinRegistry() });
    if (p.cache) return { cache: new CacheStore(new Layout(p.root)), spec: p.cache.remote };
  } else {
    const env = process.env.PARAMFLOW_CACHE_REMOTE?.trim();
    if (env)
      return {
        cache: new CacheStore(new Layout(findProjectRoot(process.cwd()))),
        spec: parseRemoteSpec(env, process.cwd(), { file: 'PARAMFLOW_CACHE_REMOTE' }),
      };
  }
  throw new ParamflowError('PF_BAD_FLAG', 'no remote cache is configured', {
    location: { file: file ?? '<command line>' },
    hint: `pass --remote <where>, set PARAMFLOW_CACHE_REMOTE, or add cache.remote to the pipeline (${REMOTE_HINT})`,
  });
}
