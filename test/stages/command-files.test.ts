import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { command, declaredOutputs } from '../../stages/command/index.js';
import { readMetrics, readOutput, readPlots } from '../../stages/command/files.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cmd-files-'));
const write = (name: string, text: string | Uint8Array) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('command stage files', () => {
  it('declares outputs by suffix: array (default, .npy), JSON, folder', () => {
    expect(declaredOutputs({ outputs: ['pred', 'X.npy', 'summary.json', 'model/'] })).toEqual([
      { name: 'pred', kind: 'ndarray' },
      { name: 'X', kind: 'ndarray' },
      { name: 'summary', kind: 'json' },
      { name: 'model', kind: 'folder' },
    ]);
  });

  it('reads metrics.json, joining nested keys with dots, and refuses what is not a number', async () => {
    expect(await readMetrics('s', write('m1.json', '{"rmse": 0.5, "r2": {"A": 0.9, "B": -1}}'))).toEqual({
      rmse: 0.5,
      'r2.A': 0.9,
      'r2.B': -1,
    });
    expect(await readMetrics('s', join(dir, 'absent.json'))).toBeUndefined();
    await expect(readMetrics('s', write('m2.json', '{"rmse": "low"}'))).rejects.toThrow(
      /stage s: metrics\.json holds "low" at `rmse`, not a finite number/,
    );
    await expect(readMetrics('s', write('m3.json', '[1, 2]'))).rejects.toThrow(/is not a mapping/);
    await expect(readMetrics('s', write('m4.json', '{"a": '))).rejects.toThrow(/is not valid JSON/);
  });

  it('names a missing or unreadable declared output', async () => {
    await expect(
      readOutput('fit', 'python3 fit.py', join(dir, 'pred.npy'), { name: 'pred', kind: 'ndarray' }),
    ).rejects.toThrow(/stage fit: command `python3 fit\.py` did not write its declared output `pred`/);
    await expect(readOutput('fit', 'x', write('bad.npy', 'not npy'), { name: 'bad', kind: 'ndarray' })).rejects.toThrow(
      /wrote output `bad` that is not a readable \.npy/,
    );
    mkdirSync(join(dir, 'model', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'model', 'sub', 'w.bin'), 'w');
    expect(await readOutput('fit', 'x', join(dir, 'model'), { name: 'model', kind: 'folder' })).toEqual({
      kind: 'folder',
      files: { 'sub/w.bin': Buffer.from('w') },
    });
  });

  it('takes the PNG and SVG files at the top of the output folder as plots, not the declared outputs', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'a.png'), 'p');
    writeFileSync(join(out, 'b.svg'), 's');
    writeFileSync(join(out, 'declared.png'), 'd');
    writeFileSync(join(out, 'notes.txt'), 't');
    expect(Object.keys(await readPlots(out, new Set(['declared.png']))).sort()).toEqual(['a.png', 'b.svg']);
  });

  it('check() refuses reserved and duplicate output names', () => {
    const problems = command.check!({
      run: 'x',
      outputs: ['metrics', 'a', 'a.json'],
      deps: [],
      params: {},
      env: {},
      shell: false,
    });
    expect(problems.map((p) => [p.pointer, p.message])).toEqual([
      ['/outputs/0', 'output name `metrics` is reserved'],
      ['/outputs/2', 'output `a` is declared twice'],
    ]);
  });
});
