import { canonicalJson } from '../hash/canonical-json.js';
import { describeChange, explainKeyChange, isOwnChange, type Change } from '../hash/explain.js';
import type { Environment, RunRecord } from '../tracking/run-record.js';
import { compareRuns } from './compare-runs.js';

// Why two runs' hashes differ, stage by stage, from the key details stored with each run
// (explain.ts does the explaining; this module orders and classifies what it finds).

/**
 * `same`: equal keys. `changed`: the stage's own type, version, params, files or env differ.
 * `inputs`: it differs only because a stage it needs produced something else.
 * `only-a` / `only-b`: the stage is in one run only.
 */
export type StageVerdict = 'same' | 'changed' | 'inputs' | 'only-a' | 'only-b';

export interface StageDiff {
  stage: string;
  verdict: StageVerdict;
  keyA: string | null;
  keyB: string | null;
  changes: Change[];
  /** The changes in words (`param train.batch_size 32 → 64`, `input noise changed (…)`). */
  reasons: string[];
}

export interface RunDiff {
  a: { runId: string; runHash: string; pipeline: string };
  b: { runId: string; runHash: string; pipeline: string };
  sameHash: boolean;
  /** Top-level values of the resolved pipelines that differ (`seed`, `name`), as `{ key, a, b }`. */
  pipeline: { key: string; a: unknown; b: unknown }[];
  /** Every stage of either run, in pipeline order (A's, then those only B has). */
  stages: StageDiff[];
  /** The first stage, in pipeline order, that differs by itself: where the runs diverge. */
  firstDivergent: string | null;
  changedByItself: string[];
  /** Stages that differ only because their inputs changed (downstream of a change). */
  changedByInputs: string[];
  onlyInA: string[];
  onlyInB: string[];
  /** Run metrics of either run: values and B − A. */
  metrics: Record<string, { a: number | null; b: number | null; delta: number | null; deltaPct: number | null }>;
  /** Facts outside the keys that may explain metric differences (backend, tfjs, node, git…). */
  environment: { field: string; a: string | null; b: string | null }[];
}

/** Compares run B against run A. */
export function diffRuns(a: RunRecord, b: RunRecord, objective = 'cv_rmse_mean'): RunDiff {
  const names = [...Object.keys(a.stages), ...Object.keys(b.stages).filter((n) => !(n in a.stages))];
  const stages = names.map((n) => diffStage(n, a, b));
  const byVerdict = (v: StageVerdict) => stages.filter((s) => s.verdict === v).map((s) => s.stage);
  const cmp = compareRuns([a, b], objective);
  const metrics = Object.fromEntries(
    Object.entries(cmp.metrics).map(([k, m]) => [
      k,
      { a: m.values[0] ?? null, b: m.values[1] ?? null, delta: m.delta[1] ?? null, deltaPct: m.deltaPct[1] ?? null },
    ]),
  );
  return {
    a: { runId: a.runId, runHash: a.runHash, pipeline: a.pipeline.name },
    b: { runId: b.runId, runHash: b.runHash, pipeline: b.pipeline.name },
    sameHash: a.runHash === b.runHash,
    pipeline: pipelineDiff(a.resolved, b.resolved),
    stages,
    firstDivergent: byVerdict('changed')[0] ?? null,
    changedByItself: byVerdict('changed'),
    changedByInputs: byVerdict('inputs'),
    onlyInA: byVerdict('only-a'),
    onlyInB: byVerdict('only-b'),
    metrics,
    environment: environmentDiff(a.environment, b.environment),
  };
}

function diffStage(stage: string, a: RunRecord, b: RunRecord): StageDiff {
  const sa = a.stages[stage];
  const sb = b.stages[stage];
  const base = { stage, keyA: sa?.key ?? null, keyB: sb?.key ?? null };
  if (!sa) return { ...base, verdict: 'only-b', changes: [], reasons: [`only in ${b.runId}`] };
  if (!sb) return { ...base, verdict: 'only-a', changes: [], reasons: [`only in ${a.runId}`] };
  if (sa.key === sb.key) return { ...base, verdict: 'same', changes: [], reasons: [] };
  const changes = explainKeyChange(sa.details, sb.details, stage);
  if (changes.length === 0) {
    // Equal details and different keys: the key recipe itself changed between the two versions.
    return {
      ...base,
      verdict: 'changed',
      changes,
      reasons: ['the keys differ, but their recorded details are equal (recorded by different paramflow versions?)'],
    };
  }
  return {
    ...base,
    verdict: changes.some(isOwnChange) ? 'changed' : 'inputs',
    changes,
    reasons: changes.map(describeChange),
  };
}

function pipelineDiff(a: Record<string, unknown>, b: Record<string, unknown>): RunDiff['pipeline'] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== 'stages');
  return keys
    .filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null))
    .map((k) => ({ key: k, a: a[k] ?? null, b: b[k] ?? null }));
}

/** The environment facts worth comparing, flattened. */
function environmentFacts(e: Environment): Record<string, string | null> {
  return {
    paramflow: e.paramflow,
    node: e.node,
    platform: `${e.platform} ${e.arch}`,
    backend: e.backend?.name ?? null,
    tfjs: e.backend?.tfjs ?? null,
    'git commit': e.git?.commit ?? null,
    'git dirty': e.git ? String(e.git.dirty) : null,
  };
}

function environmentDiff(a: Environment, b: Environment): RunDiff['environment'] {
  const fa = environmentFacts(a);
  const fb = environmentFacts(b);
  return Object.keys(fa)
    .filter((k) => fa[k] !== fb[k])
    .map((field) => ({ field, a: fa[field] ?? null, b: fb[field] ?? null }));
}
