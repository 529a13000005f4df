import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ParamflowError } from './errors.js';

// File-system failures a user can act on (a full disk, a read-only or foreign folder),
// told with the path and what to do, instead of a bare errno message.

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

export function isStorageFault(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && (FULL.has(code) || DENIED.has(code));
}

/** `err` (from writing `path`, if the error does not name it) as a ParamflowError saying what to do; undefined for other errors. */
export function storageError(err: unknown, doing: string, path?: string): ParamflowError | undefined {
  if (!isStorageFault(err)) return undefined;
  const where = err.path ?? path ?? '(unknown path)';
  if (FULL.has(err.code!)) {
    return new ParamflowError(
      'PF_STORAGE',
      `no space left on the device holding ${where} (${err.code}) while ${doing}`,
      {
        hint: 'free some space (`paramflow cache gc --keep N` removes cache entries old runs used), then run again: what was stored before is intact',
        cause: err,
      },
    );
  }
  const why = err.code === 'EROFS' ? 'the file system is read-only' : 'permission denied';
  return new ParamflowError('PF_STORAGE', `cannot write ${where}: ${why} (${err.code}) while ${doing}`, {
    hint: `make ${dirname(where)} writable for this user (or run from a copy of the project you own), then run again`,
    cause: err,
  });
}

/** Adds `path` to an error thrown while writing it (a write on a file handle names no path). */
export function withPath(err: unknown, path: string): unknown {
  if (err && typeof err === 'object' && !(err as NodeJS.ErrnoException).path)
    (err as NodeJS.ErrnoException).path = path;
  return err;
}

/**
 * mkdir -p `dir`, failing as PF_STORAGE naming the folder. On a read-only file system a
 * recursive mkdir reports ENOENT (Node's mkdirp gives up on the first level it cannot
 * create); the nearest missing level is created alone to learn the real reason (EROFS).
 */
export async function ensureDir(dir: string, doing: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    let real = err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      let missing = dir;
      while (dirname(missing) !== missing && !existsSync(dirname(missing))) missing = dirname(missing);
      real = await mkdir(missing).then(
        () => err,
        (e: unknown) => e,
      );
    }
    throw storageError(real, doing, dir) ?? real;
  }
}

/** Fails now, as PF_STORAGE, if files cannot be created in `dir`: before hours of work whose results could not be kept. */
export async function probeWritable(dir: string, doing: string): Promise<void> {
  await ensureDir(dir, doing);
  // Stages that start together probe at the same millisecond: a random part keeps the names apart.
  const probe = join(dir, `.probe-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (err) {
    // Name the folder the user must fix, not the probe file that was never made.
    if (err && typeof err === 'object') (err as NodeJS.ErrnoException).path = dir;
    throw storageError(err, doing, dir) ?? err;
  }
  await rm(probe, { force: true });
}
