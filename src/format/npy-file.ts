import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { bytesPerElement, byteSize, ndarray } from '../stage-contract/ndarray.js';
import type { ArrayFile, DType, TypedArrayFor } from '../stage-contract/types.js';
import { isLittleEndianHost, NpyFormatError, readHeader, swapInPlace } from './npy.js';

/** A Fortran-order file (numpy writes one for some views): its rows are not contiguous. */
export class FortranOrderError extends NpyFormatError {
  override name = 'FortranOrderError';
}

/** A file's recorded digest and size (as a cache manifest lists them). */
export interface FileDigest {
  sha256: string;
  size: number;
}

/**
 * A C-order `.npy` file read by rows (an ArrayFile): only the rows asked for are in memory.
 * Reads are synchronous `pread`s: a stage asks for rows inside its compute loop, and the
 * pages come from the page cache once the file was read or written. `digest`: the file's
 * checked digest, carried along so the cache can link it into another entry unread.
 */
export class NpyFile<D extends DType = DType> implements ArrayFile<D> {
  readonly kind = 'array-file';
  private fd: number | undefined;
  private readonly rowBytes: number;

  private constructor(
    readonly path: string,
    readonly dtype: D,
    readonly shape: readonly number[],
    private readonly dataStart: number,
    readonly digest: FileDigest | undefined,
  ) {
    this.rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * bytesPerElement(dtype);
  }

  /** Opens `path` (its header checked against its size); `digest` when it is known and checked. */
  static async open(path: string, digest?: FileDigest): Promise<NpyFile> {
    const handle = await open(path, 'r');
    try {
      const head = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const { dtype, shape, fortran, dataStart } = readHeader(head.subarray(0, bytesRead));
      if (fortran) throw new FortranOrderError('a Fortran-order .npy cannot be read by rows');
      const size = (await handle.stat()).size;
      const expected = byteSize({ shape, dtype });
      if (size - dataStart !== expected)
        throw new NpyFormatError(
          `.npy data is ${size - dataStart} bytes, shape (${shape.join(', ')}) needs ${expected}`,
        );
      return new NpyFile(path, dtype, shape, dataStart, digest);
    } finally {
      await handle.close();
    }
  }

  /** Rows along the first dimension. */
  get rows(): number {
    return this.shape[0] ?? 1;
  }

  readRows(start: number, count: number, into?: TypedArrayFor<D>): TypedArrayFor<D> {
    if (start < 0 || count < 0 || start + count > this.rows)
      throw new RangeError(`rows ${start}…${start + count - 1} of ${this.rows} in ${this.path}`);
    const per = this.rowBytes / bytesPerElement(this.dtype);
    const out = into ?? ndarray(this.dtype, [count * per]).data;
    if (out.length < count * per) throw new RangeError(`readRows: room for ${out.length} values, ${count * per} asked`);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, count * this.rowBytes);
    this.fd ??= openSync(this.path, 'r');
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(this.fd, bytes, done, bytes.length - done, this.dataStart + start * this.rowBytes + done);
      if (got === 0) throw new NpyFormatError(`${this.path} ends before row ${start + count}`);
      done += got;
    }
    if (!isLittleEndianHost()) swapInPlace(bytes, bytesPerElement(this.dtype));
    return out;
  }

  /** Closes the file descriptor (a later read opens it again). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export function isNpyFile(a: unknown): a is NpyFile {
  return a instanceof NpyFile;
}
