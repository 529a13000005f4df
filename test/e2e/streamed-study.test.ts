import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { decodeNpy, encodeNpy, npyHeader } from '../../src/format/npy.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, REPO, runJson, runRecord } from '../helpers/project.js';
import type { RunRecord } from '../../src/tracking/run-record.js';

// Large arrays are streamed (written as computed, read by rows from the cache's files); the
// results must be the bits of the in-memory path. PARAMFLOW_STREAM_BYTES=0 streams every array.

const STREAM = { PARAMFLOW_STREAM_BYTES: '0' };

/** Every file of every stage's entry, by stage: name → sha256. */
function digests(rec: RunRecord): Record<string, Record<string, string>> {
  return Object.fromEntries(
    Object.entries(rec.stages).map(([name, s]) => [
      name,
      Object.fromEntries(Object.entries(s.files ?? {}).map(([f, meta]) => [f, meta.sha256])),
    ]),
  );
}

async function study(args: string[], env: Record<string, string> = {}, pipeline?: string) {
  const dir = makeProject();
  if (pipeline) writeFileSync(join(dir, 'pipeline.yaml'), pipeline);
  else copyFileSync(join(REPO, 'pipelines', 'seed-study.yaml'), join(dir, 'pipeline.yaml'));
  const { runId } = await runJson(dir, args, env);
  return { dir, rec: await runRecord(dir, runId) };
}

describe('a study whose arrays are streamed', { timeout: 300_000 }, () => {
  it('the seed study at n = 10⁴: every output, cv_rmse_mean included, has the in-memory bits', async () => {
    // x jitter on: add-noise then writes both X and Y (targets pass through).
    const args = ['--set', 'simulate.n=10000', '--set', 'train.epochs=3', '--set', 'noise.x_jitter.sigma=0.001'];
    const memory = await study(args);
    const streamed = await study(args, STREAM);
    expect(streamed.rec.metrics.cv_rmse_mean).toBeTypeOf('number');
    expect(streamed.rec.metrics.cv_rmse_mean).toBe(memory.rec.metrics.cv_rmse_mean);
    expect(digests(streamed.rec)).toEqual(digests(memory.rec));
    expect(Object.keys(digests(streamed.rec).train!)).toContain('model/fold-3/weights.bin');

    // A passed-through output is linked into the next entry, not written twice.
    const entry = (stage: string) => join(streamed.dir, '.paramflow', 'cache', streamed.rec.stages[stage]!.key);
    const [from, to] = [
      statSync(join(entry('simulate'), 'targets.npy')),
      statSync(join(entry('noise'), 'targets.npy')),
    ];
    expect(to.ino).toBe(from.ino);
    expect(readdirTmp(streamed.dir)).toEqual([]);
  });

  it('tfjs-layers training, per-feature scaling, float64 curves and dropout: the in-memory bits too', async () => {
    const pipeline = readFileSync(join(REPO, 'pipelines', 'seed-study.yaml'), 'utf8')
      .replace('n: 10000', 'n: 600\n      dtype: float64')
      .replace('points: 1000', 'points: 50')
      .replace(
        '- dense: { units: 64, activation: relu }',
        '- dense: { units: 16, activation: relu }\n        - dropout: { rate: 0.2 }',
      )
      .replace('inputs: per-block', 'inputs: per-feature');
    const args = ['--set', 'train.epochs=2', '--set', 'train.batch_size=32'];
    const env = { PARAMFLOW_FUSED: '0' };
    const memory = await study(args, env, pipeline);
    const streamed = await study(args, { ...env, ...STREAM }, pipeline);
    expect(streamed.rec.stages.train!.status).toBe('executed');
    expect(streamed.rec.metrics.cv_rmse_mean).toBe(memory.rec.metrics.cv_rmse_mean);
    expect(digests(streamed.rec)).toEqual(digests(memory.rec));
  });

  it('a streamed input whose file was damaged is detected, never used: its stage is computed again', async () => {
    const args = ['--set', 'simulate.n=300', '--set', 'train.epochs=2'];
    const { dir, rec } = await study(args, STREAM);
    const file = join(dir, '.paramflow', 'cache', rec.stages.noise!.key, 'Y.npy');
    const bytes = readFileSync(file);
    bytes.writeFloatLE(bytes.readFloatLE(bytes.length - 4) + 1, bytes.length - 4);
    writeFileSync(file, bytes);

    const run = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...args, '--set', 'train.epochs=3'], {
      env: STREAM,
    });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(run.stderr).toMatch(/warning: cache entry \w+ \(noise\): Y\.npy digest/);
    const again = await runRecord(dir, (JSON.parse(String(run.stdout)) as { runId: string }).runId);
    expect(again.stages.noise!.status).toBe('executed');
    expect(again.stages.noise!.files!['Y.npy']!.sha256).toBe(rec.stages.noise!.files!['Y.npy']!.sha256);
  });
});

/** What is left in the cache's temp area (staged arrays once moved into their entries: nothing). */
function readdirTmp(dir: string): string[] {
  const tmp = join(dir, '.paramflow', 'cache', '.tmp');
  return existsSync(tmp) ? readdirSync(tmp) : [];
}

describe('a stage module that streams (the example of docs/large-data.md)', { timeout: 120_000 }, () => {
  it('reads by rows, writes through a sink, and gives the same bytes streamed or not', async () => {
    const doc = readFileSync(join(REPO, 'docs', 'large-data.md'), 'utf8');
    const code = /```ts\n(import \{ arraySink[\s\S]*?)```/.exec(doc)![1]!;
    const pipeline = `name: centred\nseed: 5\nstages:\n  simulate:\n    uses: simulate\n    with:\n      n: 3000\n      model: damped-sine\n      x: { start: 0, stop: 10, points: 50 }\n      params: { A: { uniform: [0.5, 2] }, B: { uniform: [0.1, 1] }, C: { uniform: [1, 5] }, D: { uniform: [0, 3] } }\n  centre:\n    uses: ./stages/centre.ts\n    needs: [simulate]\n`;
    const run = async (env: Record<string, string>) => {
      const dir = makeProject(pipeline);
      mkdirSync(join(dir, 'stages'));
      writeFileSync(join(dir, 'stages', 'centre.ts'), code);
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(REPO, join(dir, 'node_modules', 'paramflow'));
      const { runId } = await runJson(dir, [], env);
      const rec = await runRecord(dir, runId);
      return { rec, file: join(dir, '.paramflow', 'cache', rec.stages.centre!.key, 'Y.npy') };
    };
    const [memory, streamed] = [await run({}), await run(STREAM)];
    expect(streamed.rec.stages.centre!.files!['Y.npy']).toEqual(memory.rec.stages.centre!.files!['Y.npy']);
    const y = decodeNpy(readFileSync(streamed.file));
    expect(y.shape).toEqual([3000, 50]);
    for (const r of [0, 1499, 2999]) {
      const mean = Array.from(y.data.subarray(r * 50, (r + 1) * 50)).reduce((a, v) => a + v, 0) / 50;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
    }
  });
});

describe('measured curves from a .npy (load)', { timeout: 120_000 }, () => {
  const n = 400;
  const p = 30;
  const values = Float32Array.from({ length: n * 2 * p }, (_, i) => Math.cos(i * 0.01) + (i % 13));
  const pipeline = 'name: measured\nseed: 1\nstages:\n  data:\n    uses: load\n    with: { curves: data/curves.npy }\n';

  async function loaded(bytes: Uint8Array, env: Record<string, string> = {}) {
    const dir = makeProject(pipeline);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'curves.npy'), bytes);
    const rec = await runRecord(dir, (await runJson(dir, [], env)).runId);
    const entry = join(dir, '.paramflow', 'cache', rec.stages.data!.key);
    return { rec, X: decodeNpy(readFileSync(join(entry, 'X.npy'))), Y: decodeNpy(readFileSync(join(entry, 'Y.npy'))) };
  }

  it('are read a chunk at a time into X and Y, with the bytes of the in-memory path', async () => {
    const bytes = encodeNpy(ndarray('float32', [n, 2, p], values));
    const [memory, streamed] = [await loaded(bytes), await loaded(bytes, STREAM)];
    expect(digests(streamed.rec)).toEqual(digests(memory.rec));
    expect(Array.from(streamed.X.data.subarray(p * 17, p * 18))).toEqual(
      Array.from(values.subarray(2 * p * 17, 2 * p * 17 + p)),
    );
    expect(Array.from(streamed.Y.data.subarray(p * 17, p * 18))).toEqual(
      Array.from(values.subarray(2 * p * 17 + p, 2 * p * 18)),
    );
  });

  it('a Fortran-order file (not readable by rows) is still read, whole, into the same arrays', async () => {
    const c = encodeNpy(ndarray('float32', [n, 2, p], values));
    // The same array in Fortran order: index (i, j, k) at i + n·(j + 2·k).
    const f = new Float32Array(values.length);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < 2; j++) for (let k = 0; k < p; k++) f[i + n * (j + 2 * k)] = values[(i * 2 + j) * p + k]!;
    const header = Buffer.from(npyHeader('float32', [n, 2, p]))
      .toString('latin1')
      .replace("'fortran_order': False", "'fortran_order': True ");
    const fortran = Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(f.buffer)]);
    const [fromC, fromF] = [await loaded(c, STREAM), await loaded(fortran, STREAM)];
    expect(digests(fromF.rec).data).toEqual(digests(fromC.rec).data);
  });
});

describe('an array file a stage module made up', () => {
  it('is refused by name (exit 1), and nothing is cached for the stage', async () => {
    const fake = `export default {
  name: 'fake', version: '1', schema: { type: 'object' },
  outputs: [{ name: 'Z', kind: 'ndarray' }],
  run: () => ({ outputs: { Z: { kind: 'array-file', dtype: 'float32', shape: [2, 2] } } }),
};
`;
    const dir = makeProject('name: fake\nseed: 1\nstages:\n  made:\n    uses: ./stages/fake.mjs\n');
    mkdirSync(join(dir, 'stages'));
    writeFileSync(join(dir, 'stages', 'fake.mjs'), fake);
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/returned output `Z` as an array file that cannot be read by rows/);
    const cache = join(dir, '.paramflow', 'cache');
    expect(existsSync(cache) ? readdirSync(cache).filter((e) => /^[0-9a-f]{64}$/.test(e)) : []).toEqual([]);
  });
});
