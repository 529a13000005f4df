import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HashedFile, writeHashed, type WriteBudget, type WrittenFile } from '../entry-writer.js';
import { COMPLETE, MANIFEST, type CacheStore, type Manifest } from '../store.js';
import type { RemoteCache } from './remote.js';

/**
 * Copies a remote entry into the local cache through the same path a computed entry
 * takes (a folder in `.tmp/`, then one rename). Every file's digest and size are checked
 * against the remote manifest on the way in: a torn or mixed upload is refused, never used.
 */
export async function pullEntry(remote: RemoteCache, cache: CacheStore, key: string): Promise<Manifest> {
  const manifestBytes = await readAll(await remote.read(key, MANIFEST));
  const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as Manifest;
  if (manifest.key !== key)
    throw new Error(`remote entry ${key.slice(0, 12)}: its manifest names key ${String(manifest.key).slice(0, 12)}`);
  await mkdir(cache.layout.tmpDir, { recursive: true });
  const tmp = join(cache.layout.tmpDir, `${key}.pull.${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const budget = { written: 0, stage: manifest.stage };
    for (const [file, meta] of Object.entries(manifest.files)) {
      if (file.split('/').some((p) => p === '..' || p === '') || file.startsWith('/'))
        throw new Error(`remote entry ${key.slice(0, 12)}: bad file name ${JSON.stringify(file)}`);
      await mkdir(dirname(join(tmp, file)), { recursive: true });
      const got = await copyHashed(await remote.read(key, file), join(tmp, file), budget);
      if (got.sha256 !== meta.sha256 || got.size !== meta.size) {
        throw new Error(
          `remote entry ${key.slice(0, 12)}: ${file} does not match its manifest (${got.size} bytes, digest ${got.sha256.slice(0, 12)}…)`,
        );
      }
    }
    await writeHashed(join(tmp, MANIFEST), [manifestBytes], { written: 0 });
    await writeHashed(join(tmp, COMPLETE), [Buffer.from(`${key}\n`)], { written: 0 });
    await cache.place(tmp, key);
    return manifest;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** A remote file into `path` a chunk at a time, hashed as written (a 4 GB array is never whole in memory). */
async function copyHashed(chunks: AsyncIterable<Uint8Array>, path: string, budget: WriteBudget): Promise<WrittenFile> {
  const file = await HashedFile.create(path, budget);
  try {
    for await (const chunk of chunks) await file.write(chunk);
  } catch (err) {
    await file.abandon();
    throw err;
  }
  return file.close();
}

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * Uploads a complete local entry unless the remote has it. True when it was uploaded.
 * Its digests are re-read first: a damaged local entry must not reach other machines.
 */
export async function pushEntry(remote: RemoteCache, cache: CacheStore, key: string): Promise<boolean> {
  const local = await cache.lookup(key);
  if (!local.hit) throw new Error(`local entry ${key.slice(0, 12)} is ${local.reason}`);
  if (await remote.has(key)) return false;
  const sound = await cache.verify(key);
  if (!sound.ok)
    throw new Error(
      `local entry ${key.slice(0, 12)} is damaged (${sound.problem}); not pushed: run \`paramflow cache verify\``,
    );
  await remote.write(key, cache.layout.entry(key), Object.keys(local.manifest.files));
  return true;
}

/** Pulls the entry when the remote has it; undefined when it does not. */
export async function pullIfPresent(
  remote: RemoteCache,
  cache: CacheStore,
  key: string,
): Promise<Manifest | undefined> {
  if (!(await remote.has(key))) return undefined;
  await pullEntry(remote, cache, key);
  const found = await cache.lookup(key);
  return found.hit ? found.manifest : undefined;
}
