import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, runJson, runRecord, TRAINED_PIPELINE } from '../helpers/project.js';

// Issue 18 item 1: a damaged entry must never feed a computation, and what was built from
// it must not stay cached.

const entryFile = (dir: string, key: string, file: string) => join(dir, '.paramflow', 'cache', key, file);

/** Multiplies every other float of a .npy in place: same size, same header, other values. */
function damageFloats(path: string): void {
  const b = readFileSync(path);
  const start = 10 + b.readUInt16LE(8);
  const wide = /'descr': '<f8'/.test(b.subarray(10, start).toString('latin1'));
  const step = wide ? 8 : 4;
  for (let off = start; off + step <= b.length; off += 2 * step) {
    if (wide) b.writeDoubleLE(b.readDoubleLE(off) * 1.7, off);
    else b.writeFloatLE(b.readFloatLE(off) * 1.7, off);
  }
  writeFileSync(path, b);
}

async function cleanScore(args: string[]): Promise<number> {
  const dir = makeProject(TRAINED_PIPELINE);
  return (await runRecord(dir, (await runJson(dir, args)).runId)).metrics.cv_rmse_mean!;
}

describe('damaged cache entries', { timeout: 180_000 }, () => {
  it('an input whose bytes no longer match its digest is not used: its stage is recomputed, the result equals a clean run', async () => {
    const dir = makeProject(TRAINED_PIPELINE);
    const first = await runRecord(dir, (await runJson(dir)).runId);
    const noise = first.stages.noise!.key;
    damageFloats(entryFile(dir, noise, 'Y.npy'));

    const changed = ['--set', 'train.epochs=3'];
    const run = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...changed]);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(run.stderr).toContain(`warning: cache entry ${noise.slice(0, 12)} (noise): Y.npy digest`);
    const rec = await runRecord(dir, (JSON.parse(String(run.stdout)) as { runId: string }).runId);
    expect(rec.stages.noise!.status).toBe('executed');
    expect(rec.stages.noise!.reason).toMatch(/cache entry damaged \(Y\.npy\)/);
    expect(rec.metrics.cv_rmse_mean).toBe(await cleanScore(changed));
    // The entry now holds good bytes again.
    expect((await paramflow(dir, ['cache', 'verify'])).stdout).toMatch(/ 0 bad/);
  });

  it('damaged model weights are not used by evaluate', async () => {
    const dir = makeProject(TRAINED_PIPELINE);
    const first = await runRecord(dir, (await runJson(dir)).runId);
    const train = first.stages.train!.key;
    const weights = Object.keys(first.stages.train!.files ?? {}).find((f) => f.endsWith('.bin'))!;
    const path = entryFile(dir, train, weights);
    const b = readFileSync(path);
    for (let i = 0; i < b.length; i += 16) b[i] = b[i]! ^ 0x55;
    writeFileSync(path, b);
    // An evaluate-only change: train is a hit, and evaluate reads its model.
    const run = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--set', 'evaluate.plots=true']);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(run.stderr).toContain(`warning: cache entry ${train.slice(0, 12)} (train): ${weights} digest`);
    const rec = await runRecord(dir, (JSON.parse(String(run.stdout)) as { runId: string }).runId);
    expect(rec.stages.train!.status).toBe('executed');
    expect(rec.metrics.cv_rmse_mean).toBe(first.metrics.cv_rmse_mean);
  });

  it('cache verify removes a damaged entry and every entry built from it (its lineage); a second verify says 0 bad; a rerun recomputes them', async () => {
    const dir = makeProject(TRAINED_PIPELINE);
    const first = await runRecord(dir, (await runJson(dir)).runId);
    const key = (s: string) => first.stages[s]!.key.slice(0, 12);
    damageFloats(entryFile(dir, first.stages.noise!.key, 'Y.npy'));

    const verify = await paramflow(dir, ['cache', 'verify']);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toContain(`bad entry ${key('noise')}: Y.npy digest`);
    for (const s of ['folds', 'train', 'evaluate'])
      expect(verify.stdout).toMatch(new RegExp(`bad entry ${key(s)}: built from `));
    expect(verify.stdout).not.toContain(key('simulate'));
    expect(verify.stdout).toMatch(/5 entries checked, 4 bad/);
    const again = await paramflow(dir, ['cache', 'verify']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/1 entries checked, 0 bad/);

    const rerun = await runJson(dir);
    expect(rerun.executed.sort()).toEqual(['evaluate', 'folds', 'noise', 'train']);
    expect((await runRecord(dir, rerun.runId)).metrics.cv_rmse_mean).toBe(first.metrics.cv_rmse_mean);
  });
});
