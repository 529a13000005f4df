import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { crashByteLimit, crashNow, faultPoint } from '../util/crash.js';
import { writeAll } from '../util/atomic-write.js';
import { withPath } from '../util/storage-errors.js';

const CHUNK = 1 << 20;

export interface WrittenFile {
  sha256: string;
  size: number;
}

/** Bytes written across an entry's files (the crash hook counts them), and whose entry. */
export interface WriteBudget {
  written: number;
  stage?: string;
}

/**
 * A new file written in parts and hashed as it goes (no second read): a stage's large
 * output is appended to it as the stage computes it, never held whole. `close` syncs it.
 */
export class HashedFile {
  private readonly hash: Hash = createHash('sha256');
  private size = 0;
  private short: boolean;
  private readonly limit: number | undefined;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly budget: WriteBudget,
  ) {
    this.limit = crashByteLimit('cache-write', budget.stage);
    this.short = faultPoint('cache-write', path);
  }

  static async create(path: string, budget: WriteBudget): Promise<HashedFile> {
    const fh = await open(path, 'wx').catch((err: unknown) => Promise.reject(withPath(err, path)));
    return new HashedFile(path, fh, budget);
  }

  /** Appends `part`. fh.write may store fewer bytes than asked (a nearly full disk): writeAll loops. */
  async write(part: Uint8Array): Promise<void> {
    try {
      for (let off = 0; off < part.length; off += CHUNK) {
        let chunk = part.subarray(off, Math.min(off + CHUNK, part.length));
        if (this.limit !== undefined && this.budget.written + chunk.length >= this.limit) {
          chunk = chunk.subarray(0, this.limit - this.budget.written);
          await writeAll(this.fh, chunk, this.path);
          crashNow();
        }
        this.hash.update(chunk);
        await writeAll(this.fh, chunk, this.path, this.short);
        this.short = false;
        this.size += chunk.length;
        this.budget.written += chunk.length;
      }
    } catch (err) {
      await this.fh.close().catch(() => undefined);
      throw withPath(err, this.path);
    }
  }

  /** Syncs and closes the file; its digest and size. */
  async close(): Promise<WrittenFile> {
    try {
      await this.fh.sync();
    } catch (err) {
      throw withPath(err, this.path);
    } finally {
      await this.fh.close();
    }
    return { sha256: this.hash.digest('hex'), size: this.size };
  }

  /** Closes the file after a failure (the caller removes it). */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/**
 * Writes parts to `path` in chunks, hashing as it goes (no second read), and syncs
 * the file. `budget` counts bytes across an entry's files for the crash hook.
 */
export async function writeHashed(
  path: string,
  parts: readonly Uint8Array[],
  budget: WriteBudget,
): Promise<WrittenFile> {
  const file = await HashedFile.create(path, budget);
  for (const part of parts) await file.write(part);
  return file.close();
}
