import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { encodeNpy } from '../../src/format/npy.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { loadData } from '../../stages/load/index.js';

// Three measured curves on one grid of four points, and their parameters (A, B).
const X = [0, 0.5, 1, 1.5];
const YS = [
  [1, 0.61, 0.37, 0.22],
  [2, 1.5, 1.125, 0.84375],
  [-0.25, 0.125, 1e-3, 3.5],
];
const TARGETS = [
  [1, 1],
  [2, 0.575],
  [0.1, 7],
];

const dir = mkdtempSync(join(tmpdir(), 'pf-load-'));
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const curvesCsv = () =>
  `# measured on rig 2\nx,y1,y2,y3\n${X.map((x, j) => [x, ...YS.map((y) => y[j])].join(',')).join('\n')}\n`;
const curvesNpy = () => encodeNpy(ndarray('float64', [3, 2, 4], Float64Array.from(YS.flatMap((y) => [...X, ...y]))));

async function loadError(params: Parameters<typeof loadData>[0]): Promise<ParamflowError> {
  try {
    await loadData(params);
  } catch (err) {
    expect(err).toBeInstanceOf(ParamflowError);
    return err as ParamflowError;
  }
  throw new Error('expected an error');
}

describe('load', () => {
  it('reads a CSV and an .npy of the same curves (and targets) to identical arrays', async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const fromCsv = await loadData({
        curves: file('c.csv', curvesCsv()),
        targets: file('t.csv', `A,B\n${TARGETS.map((t) => t.join(',')).join('\n')}\n`),
        dtype,
      });
      const fromNpy = await loadData({
        curves: file('c.npy', curvesNpy()),
        targets: file('t.npy', encodeNpy(ndarray('float64', [3, 2], Float64Array.from(TARGETS.flat())))),
        dtype,
      });
      for (const name of ['X', 'Y', 'targets'] as const) {
        expect(fromCsv[name]!.shape, name).toEqual(fromNpy[name]!.shape);
        expect(encodeNpy(fromCsv[name]!).equals(encodeNpy(fromNpy[name]!)), name).toBe(true);
      }
      expect(fromCsv.X.shape).toEqual([3, 4]);
      expect([...fromCsv.Y.data.subarray(4, 8)]).toEqual(YS[1]!.map((v) => (dtype === 'float32' ? Math.fround(v) : v)));
      expect(fromCsv.targets!.shape).toEqual([3, 2]);
    }
  });

  it('without targets, outputs only the curves', async () => {
    const data = await loadData({ curves: file('c.csv', curvesCsv()), dtype: 'float32' });
    expect(data.targets).toBeUndefined();
  });

  it.each([
    {
      what: 'a cell that is not a number',
      text: 'x,y1,y2\n0,1,2\n1,1.5,abc\n',
      line: 3,
      column: 7,
      message: /not a number: "abc" in column y2/,
    },
    {
      what: 'a row with a missing cell',
      text: 'x,y1,y2\n0,1,2\n# a comment line\n1,1.5\n',
      line: 4,
      column: undefined,
      message: /unreadable CSV: Invalid Record Length/,
    },
    {
      what: 'an unclosed quote',
      text: 'x,y1\n0,1\n1,"2\n',
      line: 3,
      column: undefined,
      message: /unreadable CSV: Quote Not Closed/,
    },
    { what: 'an empty cell', text: 'x,y1\n0,1\n\n1, \n', line: 4, column: 4, message: /not a number: "" in column y1/ },
    { what: 'no x column', text: 'a,b\n0,1\n1,2\n', line: 1, column: 1, message: /expected a header `x,y`/ },
  ])('a curves CSV with $what gives a line-located error', async ({ text, line, column, message }) => {
    const path = file('bad.csv', text);
    const err = await loadError({ curves: path, dtype: 'float32' });
    expect(err.code).toBe('PF_BAD_DATA');
    expect(err.message).toMatch(message);
    expect(err.location).toEqual({ file: path, line, column: column ?? 1 });
    expect(err.hint).toBeTruthy();
  });

  it('refuses targets that are malformed, located, or that do not match the curves', async () => {
    const curves = file('c.csv', curvesCsv());
    const bad = await loadError({ curves, targets: file('t.csv', 'A,B\n1,2\n3,x\n4,5\n'), dtype: 'float32' });
    expect(bad.location).toEqual({ file: join(dir, 't.csv'), line: 3, column: 3 });
    const short = await loadError({ curves, targets: file('t2.csv', 'A,B\n1,2\n3,4\n'), dtype: 'float32' });
    expect(short.message).toMatch(/targets has 2 rows but there are 3 curves/);
    const noHeader = await loadError({ curves, targets: file('t3.csv', '1,2\n3,4\n5,6\n'), dtype: 'float32' });
    expect(noHeader.message).toMatch(/header naming the parameters/);
  });
});
