import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/hash/sha256.js';
import { encodeNpy } from '../../src/format/npy.js';
import { NpyFile } from '../../src/format/npy-file.js';
import { curveFeatures } from '../../src/model/features.js';
import { fitScalerStreamed, scaledRows } from '../../src/model/curve-rows.js';
import { fitCurveScaler, scaledCurveFeatures, type InputMode } from '../../src/model/scalers.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { forEachChunk, gatherRows, memorySink, readRows, wholeArray } from '../../src/stage-contract/rows.js';
import type { DType, NdArray } from '../../src/stage-contract/types.js';
import { ArrayStaging } from '../../src/runner/array-staging.js';

// The streamed path reads the same values as the in-memory one, so its results are the same bits.

const dir = mkdtempSync(join(tmpdir(), 'pf-streamed-'));
let files = 0;

async function onDisk<D extends DType>(a: NdArray<D>): Promise<NpyFile<D>> {
  const path = join(dir, `a${files++}.npy`);
  writeFileSync(path, encodeNpy(a));
  return (await NpyFile.open(path)) as NpyFile<D>;
}

function curves(n: number, p: number, dtype: 'float32' | 'float64', phase: number): NdArray<'float32' | 'float64'> {
  const a = ndarray(dtype, [n, p]);
  for (let i = 0; i < a.data.length; i++) a.data[i] = Math.sin(i * 0.013 + phase) * (1 + (i % 7)) + phase;
  return a;
}

describe('an array read by rows from its file', () => {
  it('gives the values of the array in memory, by range, by index and in chunks', async () => {
    const a = curves(37, 5, 'float64', 0.3);
    const f = await onDisk(a);
    expect(Array.from(f.readRows(3, 4))).toEqual(Array.from(a.data.subarray(15, 35)));
    const picks = [36, 0, 17, 17, 2];
    const [fromFile, fromMemory] = [new Float64Array(25), new Float64Array(25)];
    gatherRows(f, picks, fromFile);
    gatherRows(a, picks, fromMemory);
    expect(fromFile).toEqual(fromMemory);
    const seen: number[] = [];
    forEachChunk(
      f,
      (values, start, count) => {
        expect(Array.from(values.subarray(0, count * 5))).toEqual(Array.from(readRows(a, start, count)));
        seen.push(start);
      },
      10,
    );
    expect(seen).toEqual([0, 10, 20, 30]);
    expect(() => f.readRows(35, 3)).toThrow(/rows 35…37 of 37/);
    expect(wholeArray(f).data).toEqual(a.data);
    f.close();
  });

  it('refuses a file whose data is shorter than its header says', async () => {
    const path = join(dir, 'short.npy');
    writeFileSync(path, encodeNpy(ndarray('float32', [4, 3])).subarray(0, -4));
    await expect(NpyFile.open(path)).rejects.toThrow(/needs 48/);
  });
});

describe('scalers and scaled rows over files', () => {
  const n = 1500;
  const p = 1000; // 2000 features: about 520 rows per 4 MiB chunk, so three chunks
  const indices = Int32Array.from({ length: 1200 }, (_, i) => (i * 7) % n).sort();
  const targets = { rows: indices.length, cols: 2, data: Float32Array.from({ length: 2400 }, (_, i) => Math.cos(i)) };

  for (const dtype of ['float32', 'float64'] as const)
    for (const mode of ['per-block', 'per-feature', 'per-curve', 'none'] as InputMode[])
      it(`${mode}, ${dtype}: the same scaler and the same scaled rows, to the bit`, async () => {
        const [X, Y] = [curves(n, p, dtype, 0.1), curves(n, p, dtype, 2.5)];
        const [fx, fy] = [await onDisk(X), await onDisk(Y)];
        const inMemory = fitCurveScaler(X, Y, indices, targets, mode, true);
        const streamed = fitScalerStreamed(fx, fy, indices, targets, mode, true);
        expect(streamed).toEqual(inMemory);
        const rows = Int32Array.from([5, 1499, 0, 700, 5]);
        const want = scaledCurveFeatures(inMemory, X, Y, rows).data;
        expect(sha256(new Uint8Array(scaledRows(streamed, fx, fy, rows).data.buffer))).toBe(
          sha256(new Uint8Array(want.buffer)),
        );
        // Not a tautology: scaling changed the values of the raw features.
        if (mode !== 'none') expect(want).not.toEqual(curveFeatures(X, Y, rows).data);
      });
});

describe('array sinks', () => {
  it('below the threshold gather in memory; at it, write a file hashed as written', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pf-staging-'));
    const staging = new ArrayStaging(tmp, 'k', 64, { written: 0 });
    const small = await staging.create('s', 'float32', [3, 5]); // 60 bytes
    await small.append(new Float32Array(15).fill(2));
    expect((await small.finish()).kind).toBe('ndarray');

    const big = await staging.create('b', 'float64', [4, 3]); // 96 bytes
    const values = Float64Array.from({ length: 12 }, (_, i) => i / 3);
    await big.append(values.subarray(0, 6));
    await big.append(values.subarray(6));
    const out = (await big.finish()) as NpyFile;
    expect(out.kind).toBe('array-file');
    const bytes = encodeNpy(ndarray('float64', [4, 3], values));
    expect(out.digest).toEqual({ sha256: sha256(bytes), size: bytes.length });
    expect(wholeArray(out).data).toEqual(values);
    await staging.clear();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses more or fewer values than the shape holds', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pf-staging-'));
    const staging = new ArrayStaging(tmp, 'k', 0, { written: 0 });
    const sink = await staging.create('x', 'int32', [2, 2]);
    await sink.append(new Int32Array(3));
    await expect(sink.finish()).rejects.toThrow(/finished with 3 of its 4 values/);
    await expect(sink.append(new Int32Array(2))).rejects.toThrow(/more than it holds/);
    await staging.clear();
    expect(readdirSync(tmp)).toEqual([]);
    const memory = memorySink('float32', [1, 2]);
    await expect(memory.append(new Float32Array(3))).rejects.toThrow(/more than it holds/);
  });
});
