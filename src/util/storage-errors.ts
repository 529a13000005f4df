import { dirname } from 'node:path';
import { ParamflowError } from '../errors.js';

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
    return new ParamflowError('PF_STORAGE', `no space left on the device holding ${where} (${err.code}) while ${doing}`, {
      hint: 'free some space (`paramflow cache gc --keep N` removes cache entries old runs used), then run again: what was stored before is intact',
      cause: err,
    });
  }
  const why = err.code === 'EROFS' ? 'the file system is read-only' : 'permission denied';
  return new ParamflowError('PF_STORAGE', `cannot write ${where}: ${why} (${err.code}) while ${doing}`, {
    hint: `make ${dirname(where)} writable for this user (or run from a copy of the project you own), then run again`,
    cause: err,
  });
}

/** Adds `path` to an error thrown while writing it (a write on a file handle names no path). */
export function withPath(err: unknown, path: string): unknown {
  if (err && typeof err === 'object' && !(err as NodeJS.ErrnoException).path) (err as NodeJS.ErrnoException).path = path;
  return err;
}
