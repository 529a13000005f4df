import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { paramflow, quickProject, runJson, runRecord } from '../helpers/project.js';
import { startS3 } from '../helpers/s3.js';

const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
const STAGES = ['simulate', 'noise', 'folds', 'train', 'evaluate'];

/** quick.yaml with a `cache.remote:` line after its name. */
function withRemote(dir: string, remote: string): void {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(/^name: .*$/m, (line) => `${line}\ncache:\n  remote: ${remote}`),
  );
}

describe('remote cache: a shared folder (PARAMFLOW_CACHE_REMOTE)', () => {
  it('machine A computes and pushes; machine B, empty, pulls every stage and executes nothing, with the same results', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    const env = { PARAMFLOW_CACHE_REMOTE: shared };
    const a = quickProject();
    const first = await runJson(a, SMALL, env);
    expect(first.executed).toEqual(STAGES);
    expect(readdirSync(shared).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(5);
    expect(readdirSync(join(shared, '.tmp'))).toEqual([]);

    const b = quickProject();
    const second = await runJson(b, SMALL, env);
    expect(second.executed).toEqual([]);
    expect(second.cached).toEqual(STAGES);
    expect(second.runHash).toBe(first.runHash);
    const [ra, rb] = [await runRecord(a, first.runId), await runRecord(b, second.runId)];
    expect(rb.metrics).toEqual(ra.metrics);
    expect(rb.stages.train!.files).toEqual(ra.stages.train!.files);
    expect(rb.stages.train!.reason).toMatch(/pulled from the remote cache/);
    const verify = await paramflow(b, ['cache', 'verify']);
    expect(verify.exitCode, String(verify.stdout)).toBe(0);
  }, 120_000);

  it('a sweep on a second, empty folder pulls every stage of every trial and executes nothing', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    const env = { PARAMFLOW_CACHE_REMOTE: shared };
    const grid = ['--sweep', 'train.batch_size=16,32', '--sweep', 'noise.gaussian.relative=0,0.05', '--jobs', '2'];
    const sweep = async (dir: string) => {
      const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, ...grid], { env });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const rec = JSON.parse(String(r.stdout)) as SweepRecord;
      const runs = await Promise.all(rec.trials.map((t) => runRecord(dir, t.replicates[0]!.runId!)));
      return { rec, runs };
    };
    const a = await sweep(quickProject());
    expect(a.runs.filter((x) => x.stages.simulate!.status === 'executed')).toHaveLength(1);
    const c = await sweep(quickProject());
    expect(c.runs.flatMap((x) => Object.values(x.stages).filter((st) => st.status !== 'cached'))).toEqual([]);
    const objectives = (s: SweepRecord) => Object.fromEntries(s.trials.map((t) => [t.id, t.objective?.mean]));
    expect(objectives(c.rec)).toEqual(objectives(a.rec));
  }, 240_000);

  it('a remote folder that does not exist is bad input: exit 2, located, nothing recorded', async () => {
    const dir = quickProject();
    const missing = join(tmpdir(), `pf-missing-${process.pid}`);
    withRemote(dir, missing);
    const r = await paramflow(dir, ['run', 'pipeline.yaml', ...SMALL]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('PF_FILE_NOT_FOUND');
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+/);
    expect(existsSync(join(dir, '.paramflow', 'runs'))).toBe(false);
    expect(existsSync(missing)).toBe(false);
  }, 60_000);

  it('a bad s3:// bucket name in PARAMFLOW_CACHE_REMOTE is bad input named by its variable, also for validate', async () => {
    const dir = quickProject();
    const env = { PARAMFLOW_CACHE_REMOTE: 's3://Not_A_Bucket/x' };
    for (const args of [
      ['run', 'pipeline.yaml'],
      ['validate', 'pipeline.yaml'],
    ]) {
      const r = await paramflow(dir, args, { env });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('PARAMFLOW_CACHE_REMOTE');
    }
    expect(existsSync(join(dir, '.paramflow', 'runs'))).toBe(false);
  }, 60_000);
});

describe('remote cache: an S3 bucket (s3rver)', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3.close());

  it('cache.remote in the file: A pushes as it runs, B runs from the bucket; cache pull and push move what is missing', async () => {
    const a = quickProject();
    withRemote(a, 's3://pf-cache/team/quick');
    const run = await paramflow(a, ['run', 'pipeline.yaml', '--json', ...SMALL], { env: s3.env });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(run.stderr).toContain('pushed');
    expect(run.stderr).not.toContain('NodeVersionSupportWarning'); // the SDK's note about its future node versions
    const first = JSON.parse(String(run.stdout)) as { runId: string; executed: string[] };
    expect(first.executed).toEqual(STAGES);

    const b = quickProject();
    withRemote(b, 's3://pf-cache/team/quick');
    const second = await runJson(b, SMALL, s3.env);
    expect(second.executed).toEqual([]);
    expect((await runRecord(b, second.runId)).metrics).toEqual((await runRecord(a, first.runId)).metrics);

    // A third machine fetches everything up front; a second pull has nothing left to do.
    const c = quickProject();
    const pull = await paramflow(c, ['cache', 'pull', '--remote', 's3://pf-cache/team/quick', '--json'], {
      env: s3.env,
    });
    expect(pull.exitCode, String(pull.stderr)).toBe(0);
    expect(JSON.parse(String(pull.stdout))).toMatchObject({
      remote: 's3://pf-cache/team/quick',
      skipped: 0,
      failed: [],
    });
    expect(JSON.parse(String(pull.stdout)).transferred).toHaveLength(5);
    const again = await paramflow(c, ['cache', 'pull', '--remote', 's3://pf-cache/team/quick', '--json'], {
      env: s3.env,
    });
    expect(JSON.parse(String(again.stdout))).toMatchObject({ transferred: [], skipped: 5 });
    expect((await runJson(c, SMALL, s3.env)).executed).toEqual([]);

    // Entries computed without the remote are uploaded by `cache push` (the file names the remote).
    const d = quickProject();
    const offline = await runJson(d, [...SMALL, '--set', 'train.epochs=1']);
    expect(offline.executed).toEqual(STAGES);
    withRemote(d, 's3://pf-cache/team/quick');
    const push = await paramflow(d, ['cache', 'push', 'pipeline.yaml', '--json'], { env: s3.env });
    expect(push.exitCode, String(push.stderr)).toBe(0);
    const pushed = JSON.parse(String(push.stdout)) as { transferred: string[]; skipped: number };
    // simulate, noise and folds were in the bucket already; train and evaluate were not.
    expect(pushed).toMatchObject({ skipped: 3 });
    expect(pushed.transferred).toHaveLength(2);
  }, 180_000);

  it('cache push without any remote configured is bad input (exit 2)', async () => {
    const r = await paramflow(quickProject(), ['cache', 'push'], { env: { PARAMFLOW_CACHE_REMOTE: '' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no remote cache is configured');
  });
});
