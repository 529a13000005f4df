import { readFile } from 'node:fs/promises';
import { extname, relative, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { ParamflowError } from '../../src/util/errors.js';
import { decodeNpy } from '../../src/format/npy.js';
import type { Curves } from '../../src/format/read-curves.js';
import { FortranOrderError, NpyFile } from '../../src/format/npy-file.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { arraySink, chunkRows } from '../../src/stage-contract/rows.js';
import {
  defineStage,
  type NdArray,
  type OutputSpec,
  type ParamProblem,
  type StageContext,
  type StageResult,
} from '../../src/stage-contract/types.js';

export interface LoadParams {
  curves: string;
  targets?: string;
  dtype: 'float32' | 'float64';
}

export interface LoadedData {
  X: NdArray;
  Y: NdArray;
  targets?: NdArray;
}

const CURVE_OUTPUTS: OutputSpec[] = [
  { name: 'X', kind: 'ndarray' },
  { name: 'Y', kind: 'ndarray' },
];

// The CSV reader (csv-parse) loads only for a pipeline that has a load stage.
const readers = () => import('../../src/format/read-curves.js');

interface NpyCurves {
  rows: NpyFile;
  n: number;
  points: number;
}

/**
 * The curves file as rows [x row, y row] (shape [N, 2, P], or [2, P]: one curve), its header
 * checked: a C-order .npy is read by rows, so a million measured curves never sit in memory
 * whole. Undefined for a CSV or a Fortran-order .npy (rare), which are read whole.
 */
async function openCurves(file: string): Promise<NpyCurves | undefined> {
  if (extname(file).toLowerCase() !== '.npy') return undefined;
  let rows: NpyFile;
  try {
    rows = await NpyFile.open(file);
  } catch (err) {
    if (err instanceof FortranOrderError) return undefined;
    throw new ParamflowError('PF_BAD_DATA', `not a readable .npy file: ${(err as Error).message}`, {
      location: { file },
      hint: 'save it with numpy.save (C order) as float32 or float64',
      cause: err,
    });
  }
  const shape = rows.shape.length === 2 ? [1, ...rows.shape] : rows.shape;
  if (shape.length !== 3 || shape[1] !== 2)
    throw new ParamflowError('PF_BAD_DATA', `curves array has shape [${rows.shape.join(', ')}]`, {
      location: { file },
      hint: 'expected [2, P] (x row, y row) or [N, 2, P]',
    });
  return { rows, n: shape[0]!, points: shape[2]! };
}

/** Curves from a .npy, a chunk of curves at a time, into X and Y sinks. */
async function loadNpyCurves(
  { rows, n, points }: NpyCurves,
  params: LoadParams,
  ctx: StageContext,
): Promise<StageResult> {
  try {
    const [sinkX, sinkY] = await Promise.all(['X', 'Y'].map((name) => arraySink(ctx, name, params.dtype, [n, points])));
    // A [2, P] file's rows are the x row and the y row of its one curve.
    const single = rows.shape.length === 2;
    const step = single ? 1 : chunkRows(rows);
    const [x, y] = [ndarray(params.dtype, [step, points]).data, ndarray(params.dtype, [step, points]).data];
    for (let first = 0; first < n; first += step) {
      const count = Math.min(step, n - first);
      const values = single ? rows.readRows(0, 2) : rows.readRows(first, count);
      for (let r = 0; r < count; r++) {
        x.set(values.subarray(2 * r * points, (2 * r + 1) * points), r * points);
        y.set(values.subarray((2 * r + 1) * points, (2 * r + 2) * points), r * points);
      }
      await sinkX!.append(x.subarray(0, count * points));
      await sinkY!.append(y.subarray(0, count * points));
      ctx.progress(first + count, n, 'curves');
    }
    const targets = params.targets ? await readTargets(params.targets, params.dtype) : undefined;
    if (targets) checkTargetRows(targets, n, params);
    const [X, Y] = [await sinkX!.finish(), await sinkY!.finish()];
    return { outputs: { X, Y, ...(targets ? { targets } : {}) } };
  } finally {
    rows.close();
  }
}

function checkTargetRows(targets: NdArray, n: number, params: LoadParams): void {
  if (targets.shape[0] !== n) {
    throw new ParamflowError('PF_BAD_DATA', `targets has ${targets.shape[0]} rows but there are ${n} curves`, {
      location: { file: params.targets! },
      hint: `one row of parameters per curve of ${params.curves}, in the same order`,
    });
  }
}

/** Checks the files at validation: a .npy of curves by its header and size, the rest by reading them. */
async function checkData(params: LoadParams): Promise<void> {
  const curves = await openCurves(params.curves);
  if (!curves) {
    await loadData(params);
    return;
  }
  if (params.targets) checkTargetRows(await readTargets(params.targets, params.dtype), curves.n, params);
}

/** Reads and cross-checks the files (paths absolute, or relative to the working folder). */
export async function loadData(params: LoadParams): Promise<LoadedData> {
  const { readCurves } = await readers();
  const curves = await readCurves(params.curves);
  const n = curves.y.length;
  const points = curves.y[0]?.length ?? 0;
  if (curves.y.some((y) => y.length !== points)) {
    throw new ParamflowError('PF_BAD_DATA', 'the curves have different numbers of points', {
      location: { file: params.curves },
      hint: 'resample them onto one number of points',
    });
  }
  const X = ndarray(params.dtype, [n, points]);
  const Y = ndarray(params.dtype, [n, points]);
  fill(X.data, curves.x);
  fill(Y.data, curves.y);
  if (!params.targets) return { X, Y };
  const targets = await readTargets(params.targets, params.dtype);
  checkTargetRows(targets, n, params);
  return { X, Y, targets };
}

function fill(out: Float32Array | Float64Array | Int32Array, rows: Curves['x']): void {
  rows.forEach((r, i) => out.set(r, i * r.length));
}

async function readTargets(file: string, dtype: LoadParams['dtype']): Promise<NdArray> {
  const bytes = await readFile(file);
  if (extname(file).toLowerCase() === '.npy') {
    let a: NdArray;
    try {
      a = decodeNpy(bytes);
    } catch (err) {
      throw new ParamflowError('PF_BAD_DATA', `not a readable .npy file: ${(err as Error).message}`, {
        location: { file },
        hint: 'save it with numpy.save as float32 or float64',
        cause: err,
      });
    }
    if (a.shape.length !== 1 && a.shape.length !== 2) {
      throw new ParamflowError('PF_BAD_DATA', `targets array has shape [${a.shape.join(', ')}]`, {
        location: { file },
        hint: 'expected [N, k] (one row of parameters per curve) or [N]',
      });
    }
    const shape = a.shape.length === 1 ? [a.shape[0]!, 1] : a.shape;
    return ndarray(dtype, shape, dtype === 'float32' ? Float32Array.from(a.data) : Float64Array.from(a.data));
  }
  const { numericColumns, readCsvTable } = await readers();
  const { header, body } = readCsvTable(file, bytes.toString('utf8'), 'the parameter names, e.g. A,B,C,D');
  if (header.length === 0 || body.length === 0 || header.some((h) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(h))) {
    throw new ParamflowError(
      'PF_BAD_DATA',
      'expected a header naming the parameters (e.g. `A,B,C,D`) and one row per curve',
      {
        location: { file, line: 1, column: 1 },
        hint: 'names are letters, digits and _; then one line of numbers per curve',
      },
    );
  }
  const columns = numericColumns(file, header, body);
  const out = ndarray(dtype, [body.length, header.length]);
  columns.forEach((col, c) => col.forEach((v, r) => (out.data[r * header.length + c] = v)));
  return out;
}

// Errors name the data file as the user would type it from here (like `pipeline.yaml:3:5`).
const fromCwd = (dir: string, written: string) => relative(process.cwd(), resolve(dir, written)) || '.';
const located = (dir: string, p: LoadParams): LoadParams => ({
  ...p,
  curves: fromCwd(dir, p.curves),
  ...(p.targets ? { targets: fromCwd(dir, p.targets) } : {}),
});

/**
 * Measured data: curves (CSV `x,y1,y2,…` or .npy [N, 2, P]) and, optionally, their
 * known parameters. The files are read when the pipeline is validated, so a malformed
 * one is bad input located at its line and column, before anything runs.
 */
export const load = defineStage<LoadParams>({
  name: 'load',
  version: '1',
  schema: 'stages/load.schema.json',
  inputs: [],
  outputs: [...CURVE_OUTPUTS, { name: 'targets', kind: 'ndarray' }],
  pathParams: ['/curves', '/targets'],
  ports: (p) => ({ outputs: p.targets ? [...CURVE_OUTPUTS, { name: 'targets', kind: 'ndarray' }] : CURVE_OUTPUTS }),
  prepare: async (params, site) => {
    const problems: ParamProblem[] = [];
    for (const key of ['curves', 'targets'] as const) {
      const written = params[key];
      if (written && !existsSync(resolve(site.dir, written))) {
        problems.push({
          pointer: `/${key}`,
          message: `${key} file ${JSON.stringify(written)} not found (${resolve(site.dir, written)})`,
          hint: "paths resolve against the pipeline file's folder",
        });
      }
    }
    if (problems.length === 0) await checkData(located(site.dir, params));
    return problems;
  },
  // Params arrive with the paths already absolute (pathParams).
  run: async (_inputs, params, ctx): Promise<StageResult> => {
    const curves = await openCurves(params.curves);
    if (curves) return loadNpyCurves(curves, params, ctx);
    const data = await loadData(params);
    return { outputs: { X: data.X, Y: data.Y, ...(data.targets ? { targets: data.targets } : {}) } };
  },
});
