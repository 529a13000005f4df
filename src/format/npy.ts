import { open } from 'node:fs/promises';
// The .npy format (NumPy format version 1.0): magic, a little-endian header length,
// a Python-literal header dict padded so the data starts on a 64-byte boundary, then
// the raw C-order data. Numpy, Julia (NPZ.jl) and others read it directly.
import { bytesPerElement, ndarray, typedArrayFromBytes } from '../stage-contract/ndarray.js';
import { chunkRows } from '../stage-contract/rows.js';
import type { ArrayFile, DType, NdArray } from '../stage-contract/types.js';

const MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;

const DESCR: Record<DType, string> = { float32: '<f4', float64: '<f8', int32: '<i4' };
const DTYPE_OF_DESCR: Record<string, DType> = { '<f4': 'float32', '<f8': 'float64', '<i4': 'int32' };

export class NpyFormatError extends Error {
  override name = 'NpyFormatError';
}

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The header bytes (magic through padding) for an array of this dtype and shape. */
export function npyHeader(dtype: DType, shape: readonly number[]): Uint8Array {
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const pad = (ALIGN - (unpadded % ALIGN)) % ALIGN;
  const text = dict + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(MAGIC.length + 4 + text.length);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), 10);
  return out;
}

/** The array's data as little-endian bytes (a view when the host is little-endian). */
export function npyData(a: Pick<NdArray, 'data'>): Uint8Array {
  const view = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  if (isLittleEndianHost()) return view;
  const out = new Uint8Array(view);
  swapInPlace(out, a.data.BYTES_PER_ELEMENT);
  return out;
}

/** Reverses each `size`-byte element of `bytes` (little-endian file ↔ big-endian host). */
export function swapInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * An array file's `.npy` bytes in parts: its header, then its data a chunk of rows at a time
 * (copied to another file, it is never read whole).
 */
export function* npyParts(a: ArrayFile): Generator<Uint8Array> {
  yield npyHeader(a.dtype, a.shape);
  const [n, step] = [a.shape[0] ?? 0, chunkRows(a)];
  for (let start = 0; start < n; start += step) yield npyData({ data: a.readRows(start, Math.min(step, n - start)) });
}

export function encodeNpy(a: NdArray): Buffer {
  return Buffer.concat([npyHeader(a.dtype, a.shape), npyData(a)]);
}

/** What a .npy header declares, checked; `dataStart`: where the data begins in the file. */
export function readHeader(bytes: Uint8Array): { dtype: DType; shape: number[]; fortran: boolean; dataStart: number } {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new NpyFormatError('not a .npy file (bad magic)');
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start + headerLen)
    throw new NpyFormatError(`.npy header says it is ${headerLen} bytes, the file ends before that`);
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError(`unreadable .npy header: ${header.trim()}`);
  }
  const dtype = DTYPE_OF_DESCR[descr];
  if (!dtype) throw new NpyFormatError(`unsupported dtype ${descr} (paramflow reads <f4, <f8, <i4)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new NpyFormatError(`unreadable .npy shape (${shapeText})`);
  return { dtype, shape, fortran: fortran === 'True', dataStart: start + headerLen };
}

/** The array in a .npy file's bytes; its data may be a view of `bytes` (the caller hands them over). */
export function decodeNpy(bytes: Uint8Array): NdArray {
  const { dtype, shape, fortran, dataStart } = readHeader(bytes);
  const expected = shape.reduce((a, b) => a * b, 1) * bytesPerElement(dtype);
  if (bytes.length - dataStart !== expected) {
    throw new NpyFormatError(
      `.npy data is ${bytes.length - dataStart} bytes, shape ${shapeLiteral(shape)} needs ${expected}`,
    );
  }
  const data = typedArrayFromBytes(dtype, bytes.subarray(dataStart));
  if (!isLittleEndianHost())
    swapInPlace(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), bytesPerElement(dtype));
  // numpy writes Fortran order for some views (a transpose, fancy indexing): reorder to C.
  return ndarray(dtype, shape, fortran ? fortranToC(data, shape) : data);
}

function fortranToC<T extends Float32Array | Float64Array | Int32Array>(data: T, shape: readonly number[]): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const index = shape.map(() => 0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let d = shape.length - 1; d >= 0; d--) f = f * shape[d]! + index[d]!;
    out[c] = data[f]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

let littleEndian: boolean | undefined;
export function isLittleEndianHost(): boolean {
  littleEndian ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return littleEndian;
}

/** The shape and dtype a .npy file declares, from its header alone (the data is not read). */
export async function readNpyHeader(file: string): Promise<{ dtype: string; shape: number[] }> {
  const handle = await open(file, 'r');
  try {
    // numpy pads its header to a multiple of 64 bytes: a few hundred at most.
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const { dtype, shape } = readHeader(head.subarray(0, bytesRead));
    return { dtype, shape };
  } finally {
    await handle.close();
  }
}
