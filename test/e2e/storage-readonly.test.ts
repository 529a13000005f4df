import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotTree, STACK_FRAME } from '../helpers/cli.js';
import { CLI, paramflow, quickProject, runJson } from '../helpers/project.js';

// Read-only folders and a deleted working folder (issue 18, item 7): a PF_STORAGE message
// naming the path, exit 1, never a stack trace, and a computing stage stopped before it
// computes. EROFS needs a real read-only mount: chmod cannot make it for root, and only
// root may bind-mount; elsewhere these tests are skipped, the injected EROFS of
// storage-faults.test.ts covering the writers.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
const OTHER = [...SMALL, '--set', 'train.batch_size=16'];
const canMount = process.platform === 'linux' && process.getuid?.() === 0 && mountWorks();

function mountWorks(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'pf-ro-probe-'));
  try {
    readOnly(dir);
    execFileSync('umount', [dir]);
    return true;
  } catch {
    return false;
  }
}

/** `dir` as a read-only bind mount of itself (EROFS for every write, root's too). */
function readOnly(dir: string): void {
  execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
  execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'ignore' });
}

async function whileReadOnly<T>(dir: string, body: () => Promise<T>): Promise<T> {
  readOnly(dir);
  try {
    return await body();
  } finally {
    execFileSync('umount', [dir]);
  }
}

const noStack = (stderr: unknown) => expect(String(stderr)).not.toContain(STACK_FRAME);

describe.skipIf(!canMount)('read-only storage (real read-only bind mounts; skipped unless root may mount)', () => {
  it('cache gc and cache verify on a read-only cache: exit 1, PF_STORAGE naming the entry, entries untouched', async () => {
    const dir = quickProject();
    await runJson(dir, SMALL);
    const cache = join(dir, '.paramflow', 'cache');
    // A damaged entry (a file one byte short) for verify to want to remove.
    const entry = readdirSync(cache).find(
      (n) => /^[0-9a-f]{64}$/.test(n) && readdirSync(join(cache, n)).some((f) => f.endsWith('.npy')),
    )!;
    const npy = readdirSync(join(cache, entry)).find((f) => f.endsWith('.npy'))!;
    truncateSync(join(cache, entry, npy), statSync(join(cache, entry, npy)).size - 1);
    const before = await snapshotTree(cache);
    const [gc, verify] = await whileReadOnly(cache, async () => [
      await paramflow(dir, ['cache', 'gc', '--keep', '0']),
      await paramflow(dir, ['cache', 'verify']),
    ]);
    for (const r of [gc, verify]) {
      expect(r.exitCode, String(r.stderr)).toBe(1);
      expect(r.stderr).toMatch(
        /error PF_STORAGE: cannot write \S+\.paramflow\/cache\/[0-9a-f]{64}: the file system is read-only \(EROFS\) while removing cache entry [0-9a-f]{12}/,
      );
      noStack(r.stderr);
    }
    expect(await snapshotTree(cache)).toEqual(before);
  }, 120_000);

  it('a stage that must compute on a read-only cache fails before it computes', async () => {
    const dir = quickProject();
    await runJson(dir, SMALL);
    const cache = join(dir, '.paramflow', 'cache');
    const r = await whileReadOnly(cache, () => paramflow(dir, ['run', 'pipeline.yaml', ...OTHER, '--json']));
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(r.stderr).toMatch(
      /error PF_STORAGE: cannot write \S+\.paramflow\/cache\/\.tmp: the file system is read-only \(EROFS\) while checking that stage train's results can be stored/,
    );
    noStack(r.stderr);
    // train never started: no epoch was trained, no checkpoint written.
    const [runId] = readdirSync(join(dir, '.paramflow', 'runs'))
      .sort()
      .reverse();
    const log = join(dir, '.paramflow', 'runs', runId!, 'logs', 'train.log');
    const trained = existsSync(log) ? readFileSync(log, 'utf8') : '';
    expect(trained).not.toMatch(/epoch/i);
    expect(r.stderr).not.toMatch(/epoch \d/i);
  }, 120_000);

  it('run with a read-only .paramflow: PF_STORAGE naming the run folder and EROFS, not ENOENT', async () => {
    const dir = quickProject();
    await runJson(dir, SMALL);
    const home = join(dir, '.paramflow');
    const r = await whileReadOnly(home, () => paramflow(dir, ['run', 'pipeline.yaml', ...OTHER]));
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(r.stderr).toMatch(
      /error PF_STORAGE: cannot write \S+\.paramflow\/runs\/[\w-]+: the file system is read-only \(EROFS\) while recording the run/,
    );
    expect(r.stderr).not.toContain('ENOENT');
    noStack(r.stderr);
  }, 120_000);
});

describe('a deleted working folder', () => {
  it.each([['runs'], ['validate', 'pipeline.yaml'], ['cache', 'ls']])(
    'paramflow %s from a folder deleted under it: PF_STORAGE naming it, exit 1',
    async (...args) => {
      const gone = mkdtempSync(join(tmpdir(), 'pf-gone-'));
      // The shell enters the folder, removes it, then becomes paramflow: a real deleted cwd, no timing.
      const r = await execa(
        'sh',
        ['-c', `cd "$1" && rmdir "$1" && shift && exec "$@"`, 'sh', gone, process.execPath, CLI, ...args],
        { reject: false },
      );
      expect(r.exitCode, String(r.stderr)).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `error PF_STORAGE: the working folder ${gone.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} no longer exists \\(ENOENT\\)`,
        ),
      );
      noStack(r.stderr);
    },
  );
});
