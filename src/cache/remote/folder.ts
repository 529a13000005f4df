import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { COMPLETE, MANIFEST } from '../store.js';
import type { RemoteCache } from './remote.js';

// A shared folder (NFS, a cluster's shared disk) laid out like `.paramflow/cache/`:
// entries are assembled in `.tmp/` on the same file system and appear by one rename,
// which NFS makes atomic too, so no machine ever sees half an entry.
export class FolderRemote implements RemoteCache {
  constructor(readonly root: string) {}

  get where(): string {
    return this.root;
  }

  async has(key: string): Promise<boolean> {
    return stat(join(this.root, key, COMPLETE)).then(
      () => true,
      () => false,
    );
  }

  async keys(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names.filter((x) => /^[0-9a-f]{64}$/.test(x)).sort()) if (await this.has(n)) out.push(n);
    return out;
  }

  async read(key: string, file: string): Promise<AsyncIterable<Uint8Array>> {
    const path = join(this.root, key, file);
    await stat(path); // a missing file fails here, not mid-copy
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async write(key: string, dir: string, files: readonly string[]): Promise<void> {
    const tmpRoot = join(this.root, '.tmp');
    await mkdir(tmpRoot, { recursive: true });
    // Host and pid in the name: two machines pushing the same key never share a folder.
    const tmp = join(tmpRoot, `${key}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      for (const f of [...files, MANIFEST, COMPLETE]) {
        await mkdir(dirname(join(tmp, f)), { recursive: true });
        await copyFile(join(dir, f), join(tmp, f));
      }
      await rename(tmp, join(this.root, key)).catch(async (err: NodeJS.ErrnoException) => {
        // Another machine placed it first: entries are content-addressed, theirs will do.
        if ((err.code === 'ENOTEMPTY' || err.code === 'EEXIST') && (await this.has(key))) return;
        throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
