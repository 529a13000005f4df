import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ParamflowError } from '../util/errors.js';
import { decodeNpy } from './npy.js';

/** Measured or new curves: each with its own x grid. */
export interface Curves {
  x: Float64Array[];
  y: Float64Array[];
}

const bad = (file: string, message: string, hint: string, line?: number) =>
  new ParamflowError('PF_BAD_DATA', message, { location: { file, ...(line ? { line, column: 1 } : {}) }, hint });

/**
 * `.npy`: shape [2, P] (one curve: x row, y row) or [N, 2, P]. `.csv`: a header, then a
 * column `x` and one column per curve (`x,y` or `x,y1,y2,…`), all on that x grid.
 */
export async function readCurves(file: string): Promise<Curves> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ParamflowError('PF_FILE_NOT_FOUND', `cannot read ${file}`, {
      location: { file },
      hint: 'check the path',
      cause: err,
    });
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return fromNpy(file, bytes);
  if (ext === '.csv') return fromCsv(file, bytes.toString('utf8'));
  throw bad(
    file,
    `unsupported curves file type ${ext || '(none)'}`,
    'give a .npy of shape [2, P] or [N, 2, P], or a .csv with columns x,y1,y2,…',
  );
}

function fromNpy(file: string, bytes: Buffer): Curves {
  let a;
  try {
    a = decodeNpy(bytes);
  } catch (err) {
    throw bad(
      file,
      `not a readable .npy file: ${(err as Error).message}`,
      'save it with numpy.save as float32 or float64',
    );
  }
  const shape = a.shape.length === 2 ? [1, ...a.shape] : a.shape;
  if (shape.length !== 3 || shape[1] !== 2) {
    throw bad(file, `curves array has shape [${a.shape.join(', ')}]`, 'expected [2, P] (x row, y row) or [N, 2, P]');
  }
  const [n, , p] = shape as [number, number, number];
  const curves: Curves = { x: [], y: [] };
  for (let i = 0; i < n; i++) {
    curves.x.push(Float64Array.from(a.data.subarray(i * 2 * p, i * 2 * p + p)));
    curves.y.push(Float64Array.from(a.data.subarray(i * 2 * p + p, (i + 1) * 2 * p)));
  }
  return curves;
}

function fromCsv(file: string, text: string): Curves {
  const { header, body } = readCsvTable(file, text, 'x,y1,y2,…');
  if (header.length < 2 || header[0]!.toLowerCase() !== 'x' || body.length < 2) {
    throw bad(
      file,
      'expected a header `x,y` (or `x,y1,y2,…`) and at least two rows',
      'the first column is x, each further column one curve',
      1,
    );
  }
  const columns = numericColumns(file, header, body);
  const x = columns[0]!;
  return { x: columns.slice(1).map(() => x), y: columns.slice(1) };
}

/** A CSV's rows after its header, each with the line it is on (comments and blank lines skipped). */
export interface CsvTable {
  header: string[];
  body: { cells: string[]; line: number; raw: string }[];
}

export function readCsvTable(file: string, text: string, layout: string): CsvTable {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, { trim: true, skip_empty_lines: true, comment: '#', info: true }) as unknown as typeof rows;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    const message = (err as Error).message.replace(/ on line \d+$/, '').replace(/ at line \d+$/, '');
    throw bad(
      file,
      `unreadable CSV: ${message}`,
      `one header line (${layout}), then numbers separated by commas, the same number on every line`,
      line,
    );
  }
  const lines = text.split(/\r?\n/);
  const [head, ...rest] = rows;
  return {
    header: head?.record ?? [],
    body: rest.map((r) => ({ cells: r.record, line: r.info.lines, raw: lines[r.info.lines - 1] ?? '' })),
  };
}

/** The table's cells as numbers, column by column; a bad cell is located at its line and column. */
export function numericColumns(file: string, header: readonly string[], body: CsvTable['body']): Float64Array[] {
  const columns = header.map(() => new Float64Array(body.length));
  body.forEach((row, r) =>
    row.cells.forEach((cell, c) => {
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) {
        throw new ParamflowError('PF_BAD_DATA', `not a number: ${JSON.stringify(cell)} in column ${header[c]}`, {
          location: { file, line: row.line, column: cellColumn(row.raw, c) },
          hint: 'every cell must be a finite number',
        });
      }
      columns[c]![r] = v;
    }),
  );
  return columns;
}

// 1-based column where cell `index` starts (quotes ignored: good enough for numbers).
function cellColumn(raw: string, index: number): number {
  let at = 0;
  for (let i = 0; i < index; i++) at = raw.indexOf(',', at) + 1;
  while (raw[at] === ' ' || raw[at] === '\t') at++;
  return at + 1;
}
