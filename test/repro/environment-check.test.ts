import { describe, expect, it } from 'vitest';
import {
  compareEnvironments,
  formatTolerance,
  gitCheckoutHint,
  type EnvironmentFacts,
} from '../../src/repro/environment-check.js';

const COMMIT_A = 'a'.repeat(40);
const COMMIT_B = 'b'.repeat(40);

function facts(change: (f: EnvironmentFacts) => void = () => undefined): EnvironmentFacts {
  const f: EnvironmentFacts = {
    environment: {
      paramflow: '0.1.0',
      node: 'v20.19.0',
      platform: 'linux',
      arch: 'x64',
      git: { commit: COMMIT_A, dirty: false },
      backend: { name: 'wasm', reason: 'fastest that loads', tfjs: '4.22.0' },
    },
    stages: { simulate: { type: 'simulate', version: '1' }, train: { type: 'train', version: '1' } },
  };
  change(f);
  return f;
}

const diff = (change: (f: EnvironmentFacts) => void, tolerance = 0.02) =>
  compareEnvironments(facts(), facts(change), tolerance);

describe('compareEnvironments', () => {
  it('finds nothing when the facts are equal', () => {
    expect(compareEnvironments(facts(), facts(), 0.02)).toEqual([]);
  });

  it('paramflow version: names both versions and points at stage versions', () => {
    const [d, ...rest] = diff((f) => (f.environment.paramflow = '0.2.0'));
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ kind: 'paramflow', recorded: '0.1.0', current: '0.2.0' });
    expect(d!.effect).toMatch(/implementation version changed/);
  });

  it('a stage implementation version: its key and everything downstream', () => {
    const [d] = diff((f) => (f.stages.train!.version = '2'));
    expect(d).toMatchObject({ kind: 'stage-version', subject: 'stage train (train)', recorded: '1', current: '2' });
    expect(d!.effect).toMatch(/key changes, and its outputs and everything downstream may differ/);
  });

  it('a stage type this paramflow does not have: it cannot run', () => {
    const [d] = diff((f) => (f.stages.train!.version = undefined));
    expect(d).toMatchObject({ kind: 'stage-version', current: 'train unknown here' });
    expect(d!.effect).toMatch(/no stage type `train`: the stage cannot run here/);
  });

  it('node: another major version may change simulated data; a patch release very unlikely', () => {
    const [major] = diff((f) => (f.environment.node = 'v22.1.0'));
    expect(major).toMatchObject({ kind: 'node', recorded: 'v20.19.0', current: 'v22.1.0' });
    expect(major!.effect).toMatch(/another V8: .*simulated data can differ bit for bit/);
    const [patch] = diff((f) => (f.environment.node = 'v20.19.5'));
    expect(patch!.effect).toMatch(/same major version: results are very unlikely to change/);
  });

  it('platform and arch: native kernels', () => {
    const ds = diff((f) => {
      f.environment.platform = 'darwin';
      f.environment.arch = 'arm64';
    });
    expect(ds.map((d) => [d.kind, d.recorded, d.current])).toEqual([
      ['platform', 'linux', 'darwin'],
      ['arch', 'x64', 'arm64'],
    ]);
    expect(ds[0]!.effect).toMatch(/native kernels .* pure-JS stages are unaffected/);
    expect(ds[1]!.effect).toMatch(/another CPU/);
  });

  it('backend: metrics compared within the stated tolerance, and how to force the recorded one', () => {
    const [d] = diff((f) => (f.environment.backend = { name: 'cpu', reason: 'requested', tfjs: '4.22.0' }), 0.05);
    expect(d).toMatchObject({ kind: 'backend', recorded: 'wasm', current: 'cpu (requested)' });
    expect(d!.effect).toMatch(/another backend: .* compared within ±5% instead of bit for bit/);
    expect(d!.fix).toMatch(/--backend wasm/);
  });

  it('a run without TensorFlow compared with one that has it: backend none', () => {
    const ds = compareEnvironments(
      facts((f) => delete f.environment.backend),
      facts(),
      0.02,
    );
    expect(ds).toMatchObject([{ kind: 'backend', recorded: 'none' }]);
    expect(ds[0]!.fix).toBeUndefined();
  });

  it('tfjs version: keys and kernels', () => {
    const [d] = diff((f) => (f.environment.backend = { name: 'wasm', reason: 'fastest that loads', tfjs: '4.21.0' }));
    expect(d).toMatchObject({ kind: 'tfjs', recorded: '4.22.0', current: '4.21.0' });
    expect(d!.effect).toMatch(/another TensorFlow\.js: train and evaluate keys differ .* within ±2%/);
  });

  it('git commit: says the run came from another commit and prints the checkout that matches', () => {
    const [d, ...rest] = diff((f) => (f.environment.git = { commit: COMMIT_B, dirty: false }));
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      kind: 'git-commit',
      recorded: COMMIT_A.slice(0, 12),
      current: COMMIT_B.slice(0, 12),
      fix: `git checkout ${COMMIT_A}`,
    });
    expect(d!.effect).toContain('the run came from another commit');
    expect(d!.effect).toContain(`\`git checkout ${COMMIT_A}\``);
  });

  it('git dirty, either side, with what each means', () => {
    const [now] = diff((f) => (f.environment.git = { commit: COMMIT_A, dirty: true }));
    expect(now).toMatchObject({ kind: 'git-dirty', recorded: 'false', current: 'true', fix: 'git stash' });
    expect(now!.effect).toMatch(/you have uncommitted changes/);
    const [then] = compareEnvironments(
      facts((f) => (f.environment.git = { commit: COMMIT_A, dirty: true })),
      facts(),
      0.02,
    );
    expect(then).toMatchObject({ kind: 'git-dirty', recorded: 'true', current: 'false' });
    expect(then!.effect).toMatch(/the run was made with uncommitted changes/);
    expect(then!.fix).toBeUndefined();
  });

  it('another commit with local changes: stash first, then check out', () => {
    const ds = diff((f) => (f.environment.git = { commit: COMMIT_B, dirty: true }));
    expect(ds.map((d) => d.kind)).toEqual(['git-commit', 'git-dirty']);
    expect(ds[0]!.fix).toBe(`git stash && git checkout ${COMMIT_A}`);
  });

  it('git state on one side only', () => {
    const [notRepo] = diff((f) => (f.environment.git = null));
    expect(notRepo).toMatchObject({ kind: 'git-state', recorded: COMMIT_A.slice(0, 12), current: 'none' });
    expect(notRepo!.effect).toMatch(/not a git work tree .* cannot tell whether the code matches commit aaaaaaaaaaaa/);
    const [noRecord] = compareEnvironments(
      facts((f) => (f.environment.git = null)),
      facts(),
      0.02,
    );
    expect(noRecord!.effect).toMatch(/the run recorded no git state/);
  });

  it('lists several differences in a fixed order: code, runtime, backend, git', () => {
    const ds = diff((f) => {
      f.environment.git = { commit: COMMIT_B, dirty: false };
      f.environment.node = 'v22.0.0';
      f.stages.simulate!.version = '2';
      f.environment.paramflow = '0.3.0';
      f.environment.backend = { name: 'cpu', reason: 'requested', tfjs: '4.22.0' };
    });
    expect(ds.map((d) => d.kind)).toEqual(['paramflow', 'stage-version', 'node', 'backend', 'git-commit']);
  });
});

describe('gitCheckoutHint and formatTolerance', () => {
  it('checks out the full commit, stashing local changes first', () => {
    expect(gitCheckoutHint({ commit: COMMIT_A }, { dirty: false })).toBe(`git checkout ${COMMIT_A}`);
    expect(gitCheckoutHint({ commit: COMMIT_A }, { dirty: true })).toBe(`git stash && git checkout ${COMMIT_A}`);
    expect(gitCheckoutHint({ commit: COMMIT_A }, null)).toBe(`git checkout ${COMMIT_A}`);
  });

  it('prints a relative tolerance as a percentage', () => {
    expect(formatTolerance(0.02)).toBe('2%');
    expect(formatTolerance(0.001)).toBe('0.1%');
    expect(formatTolerance(0)).toBe('0%');
  });
});
