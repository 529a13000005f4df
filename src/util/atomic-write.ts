import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ParamflowError } from './errors.js';
import { faultPoint } from './crash.js';
import { storageError, withPath } from './storage-errors.js';

// The one way paramflow replaces a file it must not lose (run.json, sweep.json, MLflow
// spool state, contracts, reports): temp file beside it, every byte checked written,
// fsync, then rename. A single write(2) may write fewer bytes than asked (a nearly full
// disk does exactly that, then says ENOSPC on the next call); a writer that does not
// loop and count renames a truncated file over the last good one. Any failure leaves
// the previous file in place and surfaces as PF_STORAGE naming the path.

/** Writes all of `bytes` at the handle's position, looping over short writes; a write that makes no progress is ENOSPC. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array, path: string, short = false): Promise<void> {
  let off = 0;
  // Test hook (PARAMFLOW_FAULT_AT=<point>:SHORT): the write stores half, then ENOSPC, as a full disk does.
  if (short) {
    const { bytesWritten } = await fh.write(bytes, 0, bytes.length >> 1);
    off += bytesWritten;
    throw Object.assign(new Error(`ENOSPC: no space left on device (injected after a short write), write '${path}'`), {
      code: 'ENOSPC',
      path,
      syscall: 'write',
    });
  }
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
    if (bytesWritten <= 0)
      throw Object.assign(new Error(`ENOSPC: write made no progress, write '${path}'`), {
        code: 'ENOSPC',
        path,
        syscall: 'write',
      });
    off += bytesWritten;
  }
}

export interface AtomicOptions {
  /** What paramflow was doing, for the error ("recording the run"). */
  doing: string;
  /** A PARAMFLOW_FAULT_AT point for tests (runstore-write, sweep-write, …). */
  fault?: string;
  /** Sync the data before the rename (default true); false only for state that can be rebuilt. */
  fsync?: boolean;
}

/** Replaces `path` with `data` atomically; throws PF_STORAGE (naming `path`) and leaves the old file on any failure. */
export async function writeFileAtomically(
  path: string,
  data: string | Uint8Array,
  options: AtomicOptions,
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await writeAll(fh, bytes, path, options.fault !== undefined && faultPoint(options.fault, path));
      const { size } = await fh.stat();
      // Belt and braces: what is on disk is what was meant, before it replaces anything.
      if (size !== bytes.length)
        throw Object.assign(new Error(`ENOSPC: ${size} of ${bytes.length} bytes written, write '${path}'`), {
          code: 'ENOSPC',
          path,
        });
      if (options.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const e = withPath(err, path) as NodeJS.ErrnoException;
    // A temp file's name would mislead: the file the user cares about is `path`.
    if (e.path === tmp) e.path = path;
    throw (
      storageError(e, options.doing, path) ??
      new ParamflowError('PF_STORAGE', `cannot write ${path}: ${e.message} while ${options.doing}`, {
        hint: `check that ${dirname(path)} exists and is writable and the disk has space, then run again`,
        cause: err,
      })
    );
  }
}
