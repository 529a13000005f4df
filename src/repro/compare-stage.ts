import { canonicalJson } from '../hash/canonical-json.js';
import { describeChange, explainKeyChange, type Change } from '../hash/explain.js';
import { sha256 } from '../hash/sha256.js';
import type { StageRecord } from '../tracking/run-record.js';

// Deciding, stage by stage, whether a re-execution reproduced the recorded one:
// bit for bit when the stage's key is the same, by metrics within a tolerance when
// only the backend facts in its key (or upstream stages' for the same reason) differ.

export type Verdict = 'bit-identical' | 'within-tolerance' | 'differs' | 'failed' | 'not-recorded';

/** What the project's own cache holds at the recorded key. */
export type CacheFinding =
  | { state: 'absent' }
  | { state: 'busy' }
  | { state: 'intact' }
  /** Intact, but other bytes than the run recorded: the entry was computed again since, differently. */
  | { state: 'differs'; files: string[] }
  | { state: 'corrupt'; problem: string };

export interface MetricDelta {
  name: string;
  recorded: number | null;
  now: number | null;
  delta: number | null;
  /** delta / |recorded| (null when recorded is 0 or missing). */
  relative: number | null;
  within: boolean;
}

export interface StageComparison {
  stage: string;
  type: string;
  recordedKey: string;
  key: string | null;
  /** Why the key differs from the recorded one, in words (empty: same key). */
  keyChanges: string[];
  comparedBy: 'digests' | 'metrics';
  /** SHA-256 over the stage's file digests: one short value to show per side. */
  recordedDigest: string | null;
  digest: string | null;
  /** Files whose digest differs, or that only one side has. */
  differingFiles: string[];
  metrics: MetricDelta[];
  verdict: Verdict;
  reproduced: boolean;
  /** The failure of the re-execution, when it failed. */
  error?: string;
  cache: CacheFinding;
}

export interface CompareInput {
  stage: string;
  recorded: StageRecord;
  now: StageRecord | undefined;
  /** Stages already compared by metrics: an input change from one of them is expected. */
  byMetrics: ReadonlySet<string>;
  tolerance: number;
  cache: CacheFinding;
}

export function compareStage(c: CompareInput): StageComparison {
  const { recorded, now } = c;
  const changes = now ? explainKeyChange(recorded.details, now.details, c.stage) : [];
  const comparedBy =
    changes.length > 0 && changes.every((ch) => isBackendChange(ch, c.byMetrics)) ? 'metrics' : 'digests';
  const differingFiles = now?.files && recorded.files ? differing(recorded.files, now.files) : [];
  const metrics = compareMetrics(recorded.metrics ?? {}, now?.metrics ?? {}, c.tolerance);
  const verdict = decide(recorded, now, comparedBy, differingFiles, metrics);
  return {
    stage: c.stage,
    type: recorded.type,
    recordedKey: recorded.key,
    key: now?.key ?? null,
    keyChanges: changes.map(describeChange),
    comparedBy,
    recordedDigest: recorded.files ? filesDigest(recorded.files) : null,
    digest: now?.files ? filesDigest(now.files) : null,
    differingFiles,
    metrics,
    verdict,
    reproduced: verdict === 'bit-identical' || verdict === 'within-tolerance',
    ...(now?.error
      ? { error: now.error.message }
      : now && !now.files
        ? { error: `not run (${now.status}): an earlier stage failed` }
        : {}),
    cache: c.cache,
  };
}

function decide(
  recorded: StageRecord,
  now: StageRecord | undefined,
  by: 'digests' | 'metrics',
  files: string[],
  metrics: MetricDelta[],
): Verdict {
  if (!recorded.files) return 'not-recorded';
  if (!now?.files) return 'failed';
  if (files.length === 0) return 'bit-identical';
  if (by === 'digests') return 'differs';
  // Another backend: only the numbers can be compared, and there must be some.
  return metrics.length > 0 && metrics.every((m) => m.within) ? 'within-tolerance' : 'differs';
}

/** A backend fact in the key (`backend`, `tfjs`), or an input that changed for that reason. */
function isBackendChange(ch: Change, byMetrics: ReadonlySet<string>): boolean {
  return ch.kind === 'env' || (ch.kind === 'input' && byMetrics.has(ch.stage));
}

function differing(a: Record<string, { sha256: string }>, b: Record<string, { sha256: string }>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.filter((n) => a[n]?.sha256 !== b[n]?.sha256);
}

/**
 * Each metric within `tolerance` of the recorded value, relative to the larger of the
 * two magnitudes (so a metric near zero is not held to a vanishing absolute bound by
 * one side alone); equal values always pass, a metric only one side has never does.
 */
export function compareMetrics(
  recorded: Record<string, number>,
  now: Record<string, number>,
  tolerance: number,
): MetricDelta[] {
  const names = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort();
  return names.map((name) => {
    const r = recorded[name] ?? null;
    const n = now[name] ?? null;
    if (r === null || n === null) return { name, recorded: r, now: n, delta: null, relative: null, within: false };
    const delta = n - r;
    const within = delta === 0 || Object.is(r, n) || Math.abs(delta) <= tolerance * Math.max(Math.abs(r), Math.abs(n));
    return { name, recorded: r, now: n, delta, relative: r === 0 ? null : delta / Math.abs(r), within };
  });
}

/** One digest for a stage's files, independent of their order. */
export function filesDigest(files: Record<string, { sha256: string }>): string {
  return sha256(canonicalJson(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.sha256]))));
}

/** The project's cache entry at the recorded key, judged against the recorded digests. */
export function cacheFinding(
  entry:
    | { state: 'absent' }
    | { state: 'busy' }
    | { state: 'corrupt'; problem: string }
    | { state: 'intact'; manifest: { files: Record<string, { sha256: string }> } },
  recordedFiles: Record<string, { sha256: string }> | undefined,
): CacheFinding {
  if (entry.state !== 'intact') return entry;
  const files = recordedFiles ? differing(recordedFiles, entry.manifest.files) : [];
  return files.length > 0 ? { state: 'differs', files } : { state: 'intact' };
}
