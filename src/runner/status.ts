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

/** Stage name → key details from the newest earlier run of the same pipeline file that produced it. */
export async function previousDetails(
  store: RunStore,
  pipelineFile: string,
  stages: readonly string[],
): Promise<Map<string, KeyDetails>> {
  const out = new Map<string, KeyDetails>();
  // Newest first, and stop once every stage has its details: after a long sweep the
  // store holds hundreds of runs, and a cached no-op run must not read them all.
  for await (const run of store.newestFirst()) {
    if (run.pipeline.file !== pipelineFile) continue;
    for (const [name, s] of Object.entries(run.stages)) {
      if (!out.has(name) && (s.status === 'executed' || s.status === 'cached')) out.set(name, s.details);
    }
    if (stages.every((n) => out.has(n))) break;
  }
  return out;
}

/** Why a stage runs, given its cache lookup and what it was last time. Explaining only: the key decides. */
export function explainStage(
  stage: PlannedStage,
  lookup: Lookup,
  previous: KeyDetails | undefined,
): { reasons: string[]; changes: Change[] } {
  if (lookup.hit) return { reasons: [], changes: [] };
  const changes = explainKeyChange(previous, stage.key.details, stage.spec.name);
  if (changes.length > 0) return { reasons: changes.map(describeChange), changes };
  if (lookup.reason === 'corrupt') return { reasons: [`cache entry damaged (${lookup.detail ?? 'unknown'})`], changes };
  if (lookup.reason === 'incomplete') return { reasons: ['cache entry incomplete (an interrupted write)'], changes };
  return { reasons: ['same key as last run, but its cache entry is gone (removed by `cache gc`?)'], changes };
}

export async function explainStages(plan: Plan, layout: Layout): Promise<StageStatusReport[]> {
  const cache = new CacheStore(layout);
  const previous = await previousDetails(
    new RunStore(layout),
    relative(plan.pipeline.root, plan.pipeline.file),
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
