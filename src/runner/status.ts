import { relative } from 'node:path';
import type { Layout } from '../project/layout.js';
import { CacheStore, type Lookup } from '../cache/store.js';
import { describeChange, explainKeyChange, type Change } from '../hash/explain.js';
import type { KeyDetails } from '../hash/stage-key.js';
import type { Plan, PlannedStage } from '../pipeline/plan.js';
import { RunStore } from '../tracking/run-store.js';

export interface StageStatusReport {
  stage: string;
  type: string;
  key: string;
  state: 'cached' | 'will-run';
  /** Human-readable reasons (empty when cached). */
  reasons: string[];
  changes: Change[];
}

/** What a stage was last time: its key details, and the other file they come from (a copy of the pipeline). */
export interface PreviousStage {
  details: KeyDetails;
  /** Set when no run of this file had the stage: the newest run of the same pipeline name, from this file. */
  file?: string;
}

/**
 * Stage name → key details from the newest earlier run of the same pipeline file that produced
 * it, else of the same pipeline name in another file (an edited copy says what changed, not
 * "never run").
 */
export async function previousDetails(
  store: RunStore,
  pipeline: { file: string; name: string },
  stages: readonly string[],
): Promise<Map<string, PreviousStage>> {
  const own = new Map<string, PreviousStage>();
  const named = new Map<string, PreviousStage>();
  // Newest first, and stop once every stage has its details: after a long sweep the
  // store holds hundreds of runs, and a cached no-op run must not read them all.
  for await (const run of store.newestFirst()) {
    const same = run.pipeline.file === pipeline.file;
    if (!same && run.pipeline.name !== pipeline.name) continue;
    for (const [name, s] of Object.entries(run.stages)) {
      if (s.status !== 'executed' && s.status !== 'cached') continue;
      if (same && !own.has(name)) own.set(name, { details: s.details });
      if (!same && !named.has(name)) named.set(name, { details: s.details, file: run.pipeline.file });
    }
    if (stages.every((n) => own.has(n))) break;
  }
  for (const [name, p] of named) if (!own.has(name)) own.set(name, p);
  return own;
}

/** Why a stage runs, given its cache lookup and what it was last time. Explaining only: the key decides. */
export function explainStage(
  stage: PlannedStage,
  lookup: Lookup,
  previous: PreviousStage | undefined,
): { reasons: string[]; changes: Change[] } {
  if (lookup.hit) return { reasons: [], changes: [] };
  const changes = explainKeyChange(previous?.details, stage.key.details, stage.spec.name);
  const against = previous?.file ? ` (no run of this file yet; compared with the last run of ${previous.file})` : '';
  if (changes.length > 0) return { reasons: changes.map((c) => describeChange(c) + against), changes };
  if (lookup.reason === 'corrupt') return { reasons: [`cache entry damaged (${lookup.detail ?? 'unknown'})`], changes };
  if (lookup.reason === 'incomplete') return { reasons: ['cache entry incomplete (an interrupted write)'], changes };
  return { reasons: ['same key as last run, but its cache entry is gone (removed by `cache gc`?)'], changes };
}

export async function explainStages(plan: Plan, layout: Layout): Promise<StageStatusReport[]> {
  const cache = new CacheStore(layout);
  const previous = await previousDetails(
    new RunStore(layout),
    { file: relative(plan.pipeline.root, plan.pipeline.file), name: plan.pipeline.name },
    plan.stages.map((s) => s.spec.name),
  );
  const reports: StageStatusReport[] = [];
  const willRun = new Set<string>();
  for (const s of plan.stages) {
    const lookup = await cache.lookup(s.key.value);
    const { reasons, changes } = explainStage(s, lookup, previous.get(s.spec.name));
    const state = lookup.hit ? 'cached' : 'will-run';
    if (state === 'will-run') willRun.add(s.spec.name);
    reports.push({ stage: s.spec.name, type: s.def.name, key: s.key.value, state, reasons, changes });
  }
  return reports;
}
