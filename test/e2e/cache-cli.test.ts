import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

interface Entry {
  key: string;
  stage: string;
  usedBy: string[];
}
const ls = async (dir: string) =>
  JSON.parse(String((await paramflow(dir, ['cache', 'ls', '--json'])).stdout)) as Entry[];

describe('paramflow cache', () => {
  it("ls shows each entry with the runs that used it; gc --keep 1 keeps only the newest run's entries", async () => {
    const dir = makeProject();
    const old = await runJson(dir, ['--set', 'simulate.n=32']);
    const recent = await runJson(dir);
    const before = await ls(dir);
    expect(before).toHaveLength(6);
    const recentKeys = Object.values((await runRecord(dir, recent.runId)).stages)
      .map((s) => s.key)
      .sort();
    expect(before.filter((e) => e.usedBy.includes(old.runId))).toHaveLength(3);

    const dry = await paramflow(dir, ['cache', 'gc', '--keep', '1', '--dry-run']);
    expect(dry.stdout).toMatch(/would remove 3 entries/);
    expect(await ls(dir)).toHaveLength(6);

    const gc = await paramflow(dir, ['cache', 'gc', '--keep', '1']);
    expect(gc.exitCode).toBe(0);
    expect((await ls(dir)).map((e) => e.key).sort()).toEqual(recentKeys);
    // The kept run is still a no-op; the collected one recomputes and says why.
    expect((await runJson(dir)).executed).toEqual([]);
    const status = await paramflow(dir, ['status', 'pipeline.yaml', '--set', 'simulate.n=32']);
    expect(status.stdout).toMatch(/param simulate\.n 64 → 32/);
  });

  it('verify names and removes an entry whose bytes changed; the next run recomputes it', async () => {
    const dir = makeProject();
    const first = await runJson(dir);
    const rec = await runRecord(dir, first.runId);
    const file = join(dir, '.paramflow', 'cache', rec.stages.noise!.key, 'Y.npy');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff; // same size: only a digest check can tell
    writeFileSync(file, bytes);

    const verify = await paramflow(dir, ['cache', 'verify']);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toContain(`bad entry ${rec.stages.noise!.key.slice(0, 12)}: Y.npy digest`);
    // folds was built from the damaged entry's recorded bytes (its lineage): removed too.
    expect(verify.stdout).toContain(`bad entry ${rec.stages.folds!.key.slice(0, 12)}: built from noise entry`);
    const next = await runJson(dir);
    expect(next.executed.sort()).toEqual(['folds', 'noise']);
    expect((await runRecord(dir, next.runId)).stages.noise!.files).toEqual(rec.stages.noise!.files);
  });

  it('a truncated entry is treated as a miss with a warning, never used', async () => {
    const dir = makeProject();
    const rec = await runRecord(dir, (await runJson(dir)).runId);
    const file = join(dir, '.paramflow', 'cache', rec.stages.simulate!.key, 'X.npy');
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    const run = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/warning: cache entry [0-9a-f]{12} is corrupt \(X\.npy is 100 bytes/);
    const again = await runRecord(dir, (await runJson(dir)).runId);
    expect(again.stages.simulate!.files).toEqual(rec.stages.simulate!.files);
  });
});
