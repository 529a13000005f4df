import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitState } from '../../src/tracking/environment.js';

// The run record's git facts come from two real `git` processes; a no-op run depends on them.
describe('gitState', () => {
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'pf-git-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const git = (cwd: string, ...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd });
  /** A fresh repository whose one commit holds a.yaml; returns the folder and the commit. */
  const committedRepo = async () => {
    const dir = temp();
    await git(dir, 'init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'a.yaml'), 'x: 1\n');
    await git(dir, 'add', 'a.yaml');
    await git(dir, 'commit', '-q', '-m', 'first');
    return { dir, head: (await git(dir, 'rev-parse', 'HEAD')).stdout.trim() };
  };

  it('is null outside a git work tree', async () => {
    expect(await gitState(temp())).toBeNull();
  });

  it('gives the commit, and dirty only while a tracked file differs from it', async () => {
    const { dir, head } = await committedRepo();
    expect(await gitState(dir)).toEqual({ commit: head, dirty: false, branch: 'main' });
    writeFileSync(join(dir, 'untracked.txt'), 'ignored: untracked files do not count\n');
    expect(await gitState(dir)).toEqual({ commit: head, dirty: false, branch: 'main' });
    writeFileSync(join(dir, 'a.yaml'), 'x: 2\n');
    expect(await gitState(dir)).toEqual({ commit: head, dirty: true, branch: 'main' });
  });

  it("names the branch (none on a detached HEAD) and origin's URL without its credentials", async () => {
    const { dir, head } = await committedRepo();
    await git(dir, 'remote', 'add', 'origin', 'https://alice:ghp_secret123@github.com/lab/curves.git');
    const state = await gitState(dir);
    expect(state).toMatchObject({ branch: 'main' });
    expect(state?.remote).toContain('github.com/lab/curves.git');
    expect(state?.remote).not.toContain('ghp_secret123');
    await git(dir, 'checkout', '-q', '--detach', head);
    expect((await gitState(dir))?.branch).toBeUndefined();
  });

  it('follows GIT_DIR to a repository elsewhere, as git does', async () => {
    const { dir: repo, head } = await committedRepo();
    const elsewhere = temp();
    process.env.GIT_DIR = join(repo, '.git');
    try {
      expect((await gitState(elsewhere))?.commit).toBe(head);
    } finally {
      delete process.env.GIT_DIR;
    }
  });

  it('is null in a repository without a commit', async () => {
    const dir = temp();
    await git(dir, 'init', '-q');
    expect(await gitState(dir)).toBeNull();
  });
});

describe("origin's URL from .git/config", () => {
  it('reads the url of [remote "origin"] only, quotes removed, the last one winning', async () => {
    const { configValue } = await import('../../src/tracking/environment.js');
    const config = [
      '[core]',
      '\turl = not-this',
      '[remote "upstream"]',
      '\turl = https://example.org/other.git',
      '[remote "origin"]',
      '\turl = "https://example.org/first.git"',
      '\tfetch = +refs/heads/*:refs/remotes/origin/*',
      '[Remote  "origin"]',
      '\tURL = git@example.org:lab/curves.git',
      '[branch "main"]',
      '\tremote = origin',
    ].join('\n');
    expect(configValue(config, 'remote "origin"', 'url')).toBe('git@example.org:lab/curves.git');
    expect(configValue('[core]\n\tbare = false\n', 'remote "origin"', 'url')).toBeUndefined();
  });
});
