import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { crashByteLimit, crashNow, faultPoint } from '../util/crash.js';
import { writeAll } from '../util/atomic-write.js';
import { withPath } from '../util/storage-errors.js';

const CHUNK = 1 << 20;

export interface WrittenFile {
  sha256: string;
  size: number;
}

/**
 * Writes parts to `path` in chunks, hashing as it goes (no second read), and syncs
 * the file. `budget` counts bytes across an entry's files for the crash hook.
 */
export async function writeHashed(
  path: string,
  parts: readonly Uint8Array[],
  budget: { written: number; stage?: string },
): Promise<WrittenFile> {
  const hash = createHash('sha256');
  const limit = crashByteLimit('cache-write', budget.stage);
  const fh = await open(path, 'wx').catch((err: unknown) => Promise.reject(withPath(err, path)));
  let size = 0;
  try {
    // fh.write may store fewer bytes than asked (a nearly full disk): writeAll loops and
    // counts, so a truncated file never gets a complete entry's marker.
    let short = faultPoint('cache-write', path);
    for (const part of parts) {
      for (let off = 0; off < part.length; off += CHUNK) {
        let chunk = part.subarray(off, Math.min(off + CHUNK, part.length));
        if (limit !== undefined && budget.written + chunk.length >= limit) {
          chunk = chunk.subarray(0, limit - budget.written);
          await writeAll(fh, chunk, path);
          crashNow();
        }
        hash.update(chunk);
        await writeAll(fh, chunk, path, short);
        short = false;
        size += chunk.length;
        budget.written += chunk.length;
      }
    }
    await fh.sync();
  } catch (err) {
    throw withPath(err, path);
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}
