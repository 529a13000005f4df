import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

describe('paramflow run (end to end)', () => {
  it('executes every stage once, then nothing when nothing changed, and says so', async () => {
    const dir = makeProject();
    const first = await runJson(dir);
    expect(first.status).toBe('FINISHED');
    expect(first.executed.sort()).toEqual(['folds', 'noise', 'simulate']);

    const second = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toMatch(/0 stages executed, 3 cached/);
    const again = await runJson(dir);
    expect(again.executed).toEqual([]);
    expect(again.runHash).toBe(first.runHash);
    expect(again.runId).not.toBe(first.runId);
  });

  it('re-runs the changed stage and its downstream only, and status names the param with old and new value', async () => {
    const dir = makeProject();
    await runJson(dir);
    // noise changes: simulate stays cached, noise and folds (downstream) re-run.
    const status = await paramflow(dir, ['status', 'pipeline.yaml', '--set', 'noise.gaussian.relative=0.1', '--json']);
    const reports = JSON.parse(String(status.stdout)).stages as { stage: string; state: string; reasons: string[] }[];
    const by = Object.fromEntries(reports.map((r) => [r.stage, r]));
    expect(by.simulate!.state).toBe('cached');
    expect(by.noise!.reasons).toEqual(['param noise.gaussian.relative 0.05 → 0.1']);
    expect(by.folds!.reasons[0]).toMatch(/^input noise changed/);

    const rerun = await runJson(dir, ['--set', 'noise.gaussian.relative=0.1']);
    expect(rerun.cached).toEqual(['simulate']);
    expect(rerun.executed.sort()).toEqual(['folds', 'noise']);

    const n = await runJson(dir, ['--set', 'simulate.n=32']);
    expect(n.executed.sort()).toEqual(['folds', 'noise', 'simulate']);
    const plain = await paramflow(dir, ['status', 'pipeline.yaml', '--set', 'simulate.n=48']);
    expect(plain.stdout).toMatch(/param simulate\.n 32 → 48/);
  });

  it('an edited copy of a pipeline (same name, another file) says what changed against the original, not "never run"', async () => {
    const dir = makeProject();
    await runJson(dir);
    const copy = readFileSync(join(dir, 'pipeline.yaml'), 'utf8').replace('relative: 0.05', 'relative: 0.1');
    writeFileSync(join(dir, 'edited.yaml'), copy);
    const status = await paramflow(dir, ['status', 'edited.yaml', '--json']);
    const reports = JSON.parse(String(status.stdout)).stages as { stage: string; state: string; reasons: string[] }[];
    const by = Object.fromEntries(reports.map((r) => [r.stage, r]));
    expect(by.simulate!.state).toBe('cached');
    expect(by.noise!.reasons).toEqual([
      'param noise.gaussian.relative 0.05 → 0.1 (no run of this file yet; compared with the last run of pipeline.yaml)',
    ]);
  });

  it('`runs` folds cached no-op reruns into the run they repeat, and `show <hash>` is the run that computed', async () => {
    const dir = makeProject();
    const first = await runJson(dir);
    const again = await runJson(dir);
    expect(again.executed).toEqual([]);
    const listed = String((await paramflow(dir, ['runs'])).stdout)
      .trim()
      .split('\n');
    expect(listed).toHaveLength(2); // the header and one run
    expect(listed[1]).toContain(first.runId);
    expect(listed[1]).toMatch(/3\/0 \+1 no-op/);
    expect(
      String((await paramflow(dir, ['runs', '--all'])).stdout)
        .trim()
        .split('\n'),
    ).toHaveLength(3);
    const shown = JSON.parse(String((await paramflow(dir, ['show', first.runHash.slice(0, 10), '--json'])).stdout));
    expect(JSON.stringify(shown)).toContain(first.runId);
    expect(JSON.stringify(shown)).not.toContain(again.runId);
  });

  it('records the run: hash, keys with details, digests, status and environment', async () => {
    const dir = makeProject();
    const { runId } = await runJson(dir);
    const rec = await runRecord(dir, runId);
    expect(rec.status).toBe('FINISHED');
    expect(rec.stages.simulate!.details.params).toMatchObject({ n: 64, model: 'damped-sine' });
    expect(rec.stages.noise!.details.inputs).toEqual({ simulate: rec.stages.simulate!.key });
    expect(Object.keys(rec.stages.simulate!.files!).sort()).toEqual(['X.npy', 'Y.npy', 'targets.npy']);
    expect(rec.environment.node).toBe(process.version);
    expect(rec.environment.git).toBeNull(); // the temp project is not a git repository
    const entries = readdirSync(join(dir, '.paramflow', 'cache')).filter((n) => !n.startsWith('.'));
    expect(entries.sort()).toEqual(
      Object.values(rec.stages)
        .map((s) => s.key)
        .sort(),
    );
  });

  it('--dry-run explains and writes nothing; --no-cache executes everything again', async () => {
    const dir = makeProject();
    const dry = await paramflow(dir, ['run', 'pipeline.yaml', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/never run/);
    expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);
    await runJson(dir);
    const forced = await runJson(dir, ['--no-cache']);
    expect(forced.executed.sort()).toEqual(['folds', 'noise', 'simulate']);
  });

  it('gives bit-identical outputs for the same seed and different ones for another seed', async () => {
    const a = makeProject();
    const b = makeProject();
    const ra = await runRecord(a, (await runJson(a)).runId);
    const rb = await runRecord(b, (await runJson(b)).runId);
    expect(rb.stages.noise!.files).toEqual(ra.stages.noise!.files);
    const rc = await runRecord(b, (await runJson(b, ['--set', 'seed=4'])).runId);
    expect(rc.stages.noise!.files!['Y.npy']!.sha256).not.toBe(ra.stages.noise!.files!['Y.npy']!.sha256);
  });

  it('lists runs and removes one by reference', async () => {
    const dir = makeProject();
    const first = await runJson(dir);
    await runJson(dir, ['--set', 'folds.k=3']);
    const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
      runId: string;
      overrides: string[];
    }[];
    expect(listed.map((r) => r.runId)[1]).toBe(first.runId);
    expect(listed[0]!.overrides).toEqual(['folds.k=3']);
    const rm = await paramflow(dir, ['runs', 'rm', first.runId.slice(0, 22)]);
    expect(rm.exitCode).toBe(0);
    const after = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { runId: string }[];
    expect(after.map((r) => r.runId)).not.toContain(first.runId);
  });
});
