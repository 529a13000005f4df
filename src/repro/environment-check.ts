import type { Environment } from '../tracking/run-record.js';

// Before re-running a recorded experiment, say what differs between the machine that
// ran it and this one, and what each difference is likely to do to the results.

/** The facts compared: the run's environment and the implementation version of each stage. */
export interface EnvironmentFacts {
  environment: Environment;
  /** Stage name → its type and implementation version (`undefined` version: the type is unknown here). */
  stages: Record<string, { type: string; version: string | undefined }>;
}

export type DifferenceKind =
  | 'paramflow'
  | 'stage-version'
  | 'node'
  | 'platform'
  | 'arch'
  | 'backend'
  | 'tfjs'
  | 'git-commit'
  | 'git-dirty'
  | 'git-state';

export interface EnvironmentDifference {
  kind: DifferenceKind;
  /** What differs: `node`, `stage train`, `git commit`… */
  subject: string;
  recorded: string;
  current: string;
  /** Its likely effect on the results, in words. */
  effect: string;
  /** A command that would remove the difference, when there is one. */
  fix?: string;
}

/** Every difference between the recorded facts and the current ones, in a fixed order (code first, then runtime, then git). */
export function compareEnvironments(
  recorded: EnvironmentFacts,
  current: EnvironmentFacts,
  tolerance: number,
): EnvironmentDifference[] {
  const out: EnvironmentDifference[] = [];
  const r = recorded.environment;
  const c = current.environment;
  const pct = formatTolerance(tolerance);
  if (r.paramflow !== c.paramflow) {
    out.push({
      kind: 'paramflow',
      subject: 'paramflow',
      recorded: r.paramflow,
      current: c.paramflow,
      effect:
        'other paramflow code: stages whose implementation version changed get other keys and may give other outputs (listed below if any)',
    });
  }
  for (const [stage, rs] of Object.entries(recorded.stages)) {
    const cs = current.stages[stage];
    const now = cs?.version === undefined ? `${rs.type} unknown here` : cs.version;
    if (cs && cs.version === rs.version && cs.type === rs.type) continue;
    out.push({
      kind: 'stage-version',
      subject: `stage ${stage} (${rs.type})`,
      recorded: rs.version ?? '?',
      current: now,
      effect:
        cs?.version === undefined
          ? `this paramflow has no stage type \`${rs.type}\`: the stage cannot run here`
          : `another implementation: the stage's key changes, and its outputs and everything downstream may differ`,
    });
  }
  if (r.node !== c.node) {
    const sameMajor = major(r.node) === major(c.node);
    out.push({
      kind: 'node',
      subject: 'node',
      recorded: r.node,
      current: c.node,
      effect: sameMajor
        ? 'same major version: results are very unlikely to change'
        : "another V8: Math.exp/log/sin may round differently in the last bit, so simulated data can differ bit for bit (the stage keys do not include Node's version)",
    });
  }
  if (r.platform !== c.platform) {
    out.push({
      kind: 'platform',
      subject: 'platform',
      recorded: r.platform,
      current: c.platform,
      effect:
        "native kernels (tfjs-node's libtensorflow) are built differently per platform: training numbers can differ in the last digits; pure-JS stages are unaffected",
    });
  }
  if (r.arch !== c.arch) {
    out.push({
      kind: 'arch',
      subject: 'arch',
      recorded: r.arch,
      current: c.arch,
      effect:
        'another CPU: native and WebAssembly SIMD kernels may round differently, so training numbers can differ in the last digits',
    });
  }
  differenceOfBackend(r.backend, c.backend, pct, out);
  differenceOfGit(r.git, c.git, out);
  return out;
}

function differenceOfBackend(
  r: Environment['backend'],
  c: Environment['backend'],
  pct: string,
  out: EnvironmentDifference[],
): void {
  if (!r && !c) return;
  if (r?.name !== c?.name) {
    out.push({
      kind: 'backend',
      subject: 'backend',
      recorded: r?.name ?? 'none',
      current: c ? `${c.name} (${c.reason})` : 'none',
      effect: `train and evaluate compute on another backend: their keys differ and their numbers differ in the last digits; their metrics are compared within ±${pct} instead of bit for bit`,
      ...(r ? { fix: `paramflow repro … --backend ${r.name} (if it can load here)` } : {}),
    });
  }
  if (r && c && r.tfjs !== c.tfjs) {
    out.push({
      kind: 'tfjs',
      subject: 'tfjs',
      recorded: r.tfjs,
      current: c.tfjs,
      effect: `another TensorFlow.js: train and evaluate keys differ and kernels may round differently; their metrics are compared within ±${pct}`,
    });
  }
}

function differenceOfGit(r: Environment['git'], c: Environment['git'], out: EnvironmentDifference[]): void {
  if (!r && !c) return;
  if (!r || !c) {
    out.push({
      kind: 'git-state',
      subject: 'git',
      recorded: r ? describeGit(r) : 'none',
      current: c ? describeGit(c) : 'none',
      effect: r
        ? `this project is not a git work tree (or git is missing): cannot tell whether the code matches commit ${r.commit.slice(0, 12)}`
        : 'the run recorded no git state (it was not made in a git work tree): its code cannot be matched to a commit',
    });
    return;
  }
  if (r.commit !== c.commit) {
    out.push({
      kind: 'git-commit',
      subject: 'git commit',
      recorded: r.commit.slice(0, 12),
      current: c.commit.slice(0, 12),
      effect: `the run came from another commit: code (stages, custom functions, data files) may differ; \`${gitCheckoutHint(r, c)}\` matches it`,
      fix: gitCheckoutHint(r, c),
    });
  }
  if (r.dirty !== c.dirty) {
    out.push({
      kind: 'git-dirty',
      subject: 'git dirty',
      recorded: String(r.dirty),
      current: String(c.dirty),
      effect: r.dirty
        ? 'the run was made with uncommitted changes: its commit alone may not hold the code that ran'
        : 'you have uncommitted changes: the code that runs now may differ from the commit the run came from',
      ...(c.dirty ? { fix: 'git stash' } : {}),
    });
  }
}

/** The command that puts the work tree on the run's commit (stashing local changes first, if any). */
export function gitCheckoutHint(recorded: { commit: string }, current: { dirty: boolean } | null): string {
  return `${current?.dirty ? 'git stash && ' : ''}git checkout ${recorded.commit}`;
}

function describeGit(g: { commit: string; dirty: boolean }): string {
  return `${g.commit.slice(0, 12)}${g.dirty ? ' (dirty)' : ''}`;
}

function major(version: string): string {
  return /^v?(\d+)/.exec(version)?.[1] ?? version;
}

/** `0.02` → `2%`. */
export function formatTolerance(tolerance: number): string {
  return `${Number((tolerance * 100).toPrecision(6))}%`;
}
