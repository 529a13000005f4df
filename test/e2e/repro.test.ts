import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendProblem } from '../../src/backend/probe.js';
import { addNoise } from '../../stages/add-noise/index.js';
import type { ReproReport } from '../../src/repro/reproduce.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { printedErrors, snapshotTree } from '../helpers/cli.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { CLI, makeProject, paramflow, runJson, runRecord, quickProject, TRAINED_PIPELINE } from '../helpers/project.js';

const FEW_EPOCHS = ['--set', 'train.epochs=3'];

async function repro(dir: string, args: string[]) {
  const r = await paramflow(dir, ['repro', ...args, '--json']);
  return {
    exitCode: r.exitCode,
    stderr: String(r.stderr),
    report: r.stdout ? (JSON.parse(String(r.stdout)) as ReproReport) : undefined,
  };
}

const runFile = (dir: string, runId: string) => join(dir, '.paramflow', 'runs', runId, 'run.json');
function editRecord(dir: string, runId: string, edit: (r: RunRecord) => void): void {
  const r = JSON.parse(readFileSync(runFile(dir, runId), 'utf8')) as RunRecord;
  edit(r);
  writeFileSync(runFile(dir, runId), JSON.stringify(r, null, 2));
}
const row = (text: string, stage: string) => text.split('\n').find((l) => l.startsWith(`${stage} `)) ?? '';

describe('paramflow repro', () => {
  it('quick.yaml from its hash prefix: every stage bit-identical; a tampered cache entry is reported corrupt and still reproduces; nothing in the project changes', async () => {
    const dir = quickProject();
    const run = await runJson(dir, FEW_EPOCHS);
    const rec = await runRecord(dir, run.runId);
    const before = await snapshotTree(join(dir, '.paramflow'));

    const text = await paramflow(dir, ['repro', run.runHash.slice(0, 10)]);
    expect(text.exitCode, String(text.stderr)).toBe(0);
    const out = String(text.stdout);
    expect(out).toContain(`repro of run ${run.runId} · quick · hash ${run.runHash.slice(0, 12)}`);
    expect(out).toMatch(/^environment: same as recorded/m);
    for (const stage of ['simulate', 'noise', 'folds', 'train', 'evaluate']) {
      expect(row(out, stage), stage).toMatch(
        new RegExp(`^${stage}\\s+${rec.stages[stage]!.key.slice(0, 10)}\\s+([0-9a-f]{10})\\s+\\1\\s+bit-identical$`),
      );
    }
    expect(out).toContain(`run hash ${run.runHash.slice(0, 12)}: the recorded pipeline re-plans to the same hash`);
    expect(out).toMatch(/^✓ reproduced: 5 of 5 stages \(every stage bit-identical\)$/m);
    // Every run id it prints is one `show` can find: the re-execution's scratch run is not named.
    const printed = `${out}${String(text.stderr)}`.match(/\d{8}-\d{6}-\d{3}-[0-9a-f]+/g) ?? [];
    expect([...new Set(printed)]).toEqual([run.runId]);
    expect(String(text.stderr)).toContain('run in the scratch cache (not recorded)');
    // The user's cache and run store are only read: not one file or folder changed.
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);

    // Same size, other bytes: only a digest check sees it.
    const file = join(dir, '.paramflow', 'cache', rec.stages.noise!.key, 'Y.npy');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(file, bytes);
    const tampered = await paramflow(dir, ['repro', run.runHash.slice(0, 10)]);
    expect(tampered.exitCode, String(tampered.stderr)).toBe(0);
    const t = String(tampered.stdout);
    expect(row(t, 'noise')).toMatch(/bit-identical · cache corrupt$/);
    expect(row(t, 'simulate')).toMatch(/bit-identical$/);
    expect(t).toMatch(/^cache corrupt at noise: Y\.npy digest [0-9a-f]{12}… does not match the recorded/m);
    expect(t).toMatch(/^✓ reproduced: 5 of 5 stages \(every stage bit-identical\); cache corrupt at noise/m);
    const json = await repro(dir, [run.runId]);
    expect(json.report!.cacheCorrupt).toEqual(['noise']);
    expect(json.report!.stages.map((s) => s.verdict)).toEqual(Array(5).fill('bit-identical'));

    const verify = await paramflow(dir, ['cache', 'verify']);
    expect(verify.stdout).toContain(`bad entry ${rec.stages.noise!.key.slice(0, 12)}: Y.npy digest`);
  }, 120_000); // one run and three re-executions of quick.yaml

  it('outputs that differ from the recorded digests: DIFFERS naming the file, exit 1', async () => {
    const dir = makeProject();
    const run = await runJson(dir);
    editRecord(dir, run.runId, (r) => (r.stages.folds!.files!['folds.npy']!.sha256 = '0'.repeat(64)));
    const r = await paramflow(dir, ['repro', run.runId]);
    expect(r.exitCode).toBe(1);
    expect(row(String(r.stdout), 'folds')).toMatch(/DIFFERS: folds\.npy · cache corrupt$/);
    // The cache holds what the stage computes now, which is not what the run recorded.
    expect(String(r.stdout)).toMatch(
      /^cache corrupt at folds: the cached entry holds other bytes than the run recorded \(folds\.npy\)$/m,
    );
    expect(String(r.stdout)).toMatch(/^✗ NOT reproduced: folds differs; cache corrupt at folds/m);
  });

  it('reproduces the recorded pipeline, not the file as it is now', async () => {
    const dir = makeProject();
    const run = await runJson(dir);
    writeFileSync(
      join(dir, 'pipeline.yaml'),
      readFileSync(join(dir, 'pipeline.yaml'), 'utf8').replace('n: 64', 'n: 80'),
    );
    const { exitCode, report, stderr } = await repro(dir, [run.runHash.slice(0, 8), '--keep']);
    expect(exitCode, stderr).toBe(0);
    expect(report!.runHashMatches).toBe(true);
    expect(report!.runHashNow).toBe(run.runHash);
    // --keep: the scratch cache stays, with the pipeline that was run and one entry per stage.
    const scratch = report!.scratch!;
    expect(scratch.startsWith(join(dir, '.paramflow', 'tmp', `repro-${run.runId}-`))).toBe(true);
    expect(readFileSync(join(scratch, 'pipeline.yaml'), 'utf8')).toMatch(/^ {6}n: 64$/m);
    for (const s of report!.stages)
      expect(existsSync(join(scratch, '.paramflow', 'cache', s.key!, 'COMPLETE')), s.stage).toBe(true);
  });

  it('environment differences are printed with their effect; --strict refuses them with exit 2 before running', async () => {
    const dir = makeProject();
    const run = await runJson(dir);
    editRecord(dir, run.runId, (r) => {
      r.environment.node = 'v18.20.0';
      // As if an older add-noise had made it: another version, hence another key.
      r.stages.noise!.details.version = '0';
      r.stages.noise!.key = 'f'.repeat(64);
    });
    const before = await snapshotTree(join(dir, '.paramflow'));
    const strict = await paramflow(dir, ['repro', run.runId, '--strict']);
    expect(strict.exitCode).toBe(2);
    expect(String(strict.stdout)).toMatch(/^environment: 2 differences from the recorded run$/m);
    expect(String(strict.stdout)).toMatch(/^\s+node\s+v18\.20\.0 → v\d+\.\d+\.\d+\s+another V8/m);
    expect(String(strict.stdout)).toMatch(
      new RegExp(`^\\s+stage noise \\(add-noise\\)\\s+0 → ${addNoise.version}\\s+another implementation`, 'm'),
    );
    expect(String(strict.stdout)).not.toContain('re-executing');
    expect(printedErrors(String(strict.stderr))[0]!.head).toBe(
      "<command line>: error PF_ENV_MISMATCH: --strict: the environment differs from the recorded run's in stage noise (add-noise), node",
    );
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);

    // Without --strict it runs and says why noise's key differs; the bytes are still the same.
    const loose = await paramflow(dir, ['repro', run.runId]);
    expect(loose.exitCode, String(loose.stderr)).toBe(0);
    expect(row(String(loose.stdout), 'noise')).toMatch(/^noise\s+ffffffffff → [0-9a-f]{10}\s.*bit-identical$/);
    expect(String(loose.stdout)).toMatch(
      new RegExp(`^key of noise differs from the record: implementation version 0 → ${addNoise.version}$`, 'm'),
    );
  });

  it('a recorded pipeline this paramflow refuses: exit 2, naming the run and the value, nothing written', async () => {
    const dir = makeProject();
    const run = await runJson(dir);
    editRecord(
      dir,
      run.runId,
      (r) => ((r.resolved.stages as Record<string, { with: Record<string, unknown> }>).simulate!.with.n = -5),
    );
    const before = await snapshotTree(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['repro', run.runId]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(
      `error PF_SCHEMA: the recorded pipeline of run ${run.runId} does not load with this paramflow:`,
    );
    expect(String(r.stderr)).toMatch(/^ {4}at \/stages\/simulate\/with\/n: .*-5/m);
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
  });

  it('a run from another git commit: says so and prints the checkout that matches', async () => {
    const dir = makeProject();
    const git = (...args: string[]) =>
      execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { cwd: dir });
    await git('init', '-q');
    writeFileSync(join(dir, '.gitignore'), '.paramflow/\n');
    await git('add', '.');
    await git('commit', '-qm', 'first');
    const first = (await git('rev-parse', 'HEAD')).stdout.trim();
    const run = await runJson(dir);
    writeFileSync(join(dir, 'notes.txt'), 'later\n');
    await git('add', 'notes.txt');
    await git('commit', '-qm', 'second');

    const r = await paramflow(dir, ['repro', run.runId]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(
      new RegExp(`^\\s+git commit\\s+${first.slice(0, 12)} → [0-9a-f]{12}\\s+the run came from another commit`, 'm'),
    );
    expect(String(r.stdout)).toContain(`to match git commit: git checkout ${first}`);
  });

  it.skipIf(backendProblem('cpu') !== undefined || backendProblem('wasm') !== undefined)(
    'on another backend: train and evaluate compared by metrics within the tolerance; --tolerance 0 fails them',
    async () => {
      const dir = quickProject();
      const run = await runJson(dir, [...FEW_EPOCHS, '--backend', 'cpu']);
      const ok = await repro(dir, [run.runId, '--backend', 'wasm']);
      expect(ok.exitCode, ok.stderr).toBe(0);
      const r = ok.report!;
      expect(r.backend).toEqual({ recorded: 'cpu', now: 'wasm' });
      expect(r.environment.map((d) => d.kind)).toEqual(['backend']);
      expect(r.stages.map((s) => [s.stage, s.comparedBy, s.verdict])).toEqual([
        ['simulate', 'digests', 'bit-identical'],
        ['noise', 'digests', 'bit-identical'],
        ['folds', 'digests', 'bit-identical'],
        ['train', 'metrics', expect.stringMatching(/^(within-tolerance|bit-identical)$/)],
        ['evaluate', 'metrics', expect.stringMatching(/^(within-tolerance|bit-identical)$/)],
      ]);
      expect(r.runHashMatches).toBe(false);
      const evaluate = r.stages.find((s) => s.stage === 'evaluate')!;
      expect(evaluate.metrics.map((m) => m.name)).toContain('cv_rmse_mean');
      for (const m of evaluate.metrics)
        expect(Math.abs(m.now! - m.recorded!), m.name).toBeLessThanOrEqual(
          0.02 * Math.max(Math.abs(m.recorded!), Math.abs(m.now!)),
        );

      // Some metric moved at all (else the backends gave equal numbers and there is nothing to fail).
      const moved = r.stages.some((s) => s.metrics.some((m) => m.delta !== 0));
      const strict = await repro(dir, [run.runId, '--backend', 'wasm', '--tolerance', '0%']);
      expect(strict.exitCode).toBe(moved ? 1 : 0);
    },
    120_000,
  );

  it('bad input: unknown ref, bad --tolerance, unloadable --backend; exit 2 and nothing written', async () => {
    const dir = makeProject();
    const run = await runJson(dir);
    const before = await snapshotTree(join(dir, '.paramflow'));
    const ref = await paramflow(dir, ['repro', 'zzzz']);
    expect(ref.exitCode).toBe(2);
    expect(printedErrors(String(ref.stderr))[0]!.head).toMatch(
      /error PF_BAD_REF: no run id, run hash or stage key starts with `zzzz`/,
    );
    const tol = await paramflow(dir, ['repro', 'zzzz', '--tolerance', '5']);
    expect(tol.exitCode).toBe(2);
    expect(String(tol.stderr)).toMatch(/--tolerance must be a fraction in \[0, 1\)/);
    const backend = await paramflow(dir, ['repro', run.runId, '--backend', 'gpu']);
    expect(backend.exitCode).toBe(2);
    expect(printedErrors(String(backend.stderr))[0]!.head).toMatch(/error PF_BAD_FLAG: unknown backend `gpu`/);
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
    expect(existsSync(join(dir, '.paramflow', 'tmp'))).toBe(false);
  });
});

// Only the MLflow variables a test names: a developer's shell must not change what runs.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MLFLOW_')));
const pf = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [CLI, ...args], { cwd, reject: false, extendEnv: false, env: { ...cleanEnv, ...env } });

describe('paramflow repro of an MLflow run, from a project whose run store is empty', () => {
  let double: MlflowDouble;
  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(() => double.down());

  it('downloads run.json from the MLflow run and reproduces it bit for bit; the project is left as it was', async () => {
    const env = { MLFLOW_TRACKING_URI: double.url };
    const projectA = makeProject(TRAINED_PIPELINE);
    const ran = await pf(projectA, ['run', 'pipeline.yaml', '--json'], env);
    expect(ran.exitCode, String(ran.stderr)).toBe(0);
    const a = JSON.parse(String(ran.stdout)) as { runId: string; runHash: string };
    const listed = JSON.parse(String((await pf(projectA, ['runs', '--json'])).stdout)) as {
      runId: string;
      mlflow: { runId: string };
    }[];
    const mlflowId = listed.find((r) => r.runId === a.runId)!.mlflow.runId;
    expect(mlflowId).toMatch(/^[0-9a-f]{32}$/);

    const projectB = makeProject('');
    const before = await snapshotTree(join(projectB, '.paramflow'));
    const sentBefore = double.requests.length;
    for (const ref of [mlflowId, `runs:/${mlflowId}`]) {
      const r = await pf(projectB, ['repro', ref, '--json'], env);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stderr)).toContain(
        `repro of run ${a.runId} · small · hash ${a.runHash.slice(0, 12)} · read from MLflow`,
      );
      const report = JSON.parse(String(r.stdout)) as ReproReport;
      expect(report).toMatchObject({
        source: 'mlflow',
        runId: a.runId,
        runHash: a.runHash,
        runHashMatches: true,
        reproduced: true,
        mlflow: { runId: mlflowId },
      });
      expect(report.stages.map((s) => [s.stage, s.verdict, s.cache.state])).toEqual(
        ['simulate', 'noise', 'folds', 'train', 'evaluate'].map((s) => [s, 'bit-identical', 'absent']),
      );
    }
    // Nothing recorded, cached or logged by the repro itself: it only read from MLflow.
    expect(await snapshotTree(join(projectB, '.paramflow'))).toEqual(before);
    expect(double.requests.length).toBeGreaterThan(sentBefore);
    const writes = double.requests
      .slice(sentBefore)
      .filter((q) => q.method !== 'GET' && !q.path.endsWith('/runs/search'));
    expect(writes.map((q) => q.path)).toEqual([]);

    const noUri = await pf(projectB, ['repro', mlflowId]);
    expect(noUri.exitCode).toBe(2);
    expect(String(noUri.stderr)).toMatch(/hint: .*MLFLOW_TRACKING_URI/);
  });
});
