import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
    const [from, to] = [statSync(join(entry('simulate'), 'targets.npy')), statSync(join(entry('noise'), 'targets.npy'))];
    expect(to.ino).toBe(from.ino);
    expect(readdirTmp(streamed.dir)).toEqual([]);
  });

  it('tfjs-layers training, per-feature scaling, float64 curves and dropout: the in-memory bits too', async () => {
    const pipeline = readFileSync(join(REPO, 'pipelines', 'seed-study.yaml'), 'utf8')
      .replace('n: 10000', 'n: 600\n      dtype: float64')
      .replace('points: 1000', 'points: 50')
      .replace('- dense: { units: 64, activation: relu }', '- dense: { units: 16, activation: relu }\n        - dropout: { rate: 0.2 }')
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
