import { lineageEntry, lineageMismatch, type Lineage } from '../cache/lineage.js';
import type { Manifest } from '../cache/store.js';
import type { PlannedStage } from '../pipeline/plan.js';
import type { Artifact } from '../stage-contract/types.js';

// What the scheduler keeps about a stage's inputs and outcome (split from schedule.ts).

export interface StageOutcome {
  cached: boolean;
  manifest: Manifest;
  outputs?: Record<string, Artifact>;
  reason: string;
  startedAt: string;
  durationMs: number;
}

/** A stage's record fields from its outcome: the manifest is this execution's (or the hit's). */
export function recordFields(result: StageOutcome, reason: string) {
  return {
    status: result.cached ? ('cached' as const) : ('executed' as const),
    reason,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    files: result.manifest.files,
    metrics: result.manifest.metrics,
    ...(result.manifest.series ? { series: result.manifest.series } : {}),
    ...(result.manifest.folds ? { folds: result.manifest.folds } : {}),
  };
}

/** How a stage reaches the stages before it: their outputs (checked), lineage and current manifests. */
export interface StageIo {
  load: (name: string) => Promise<Record<string, Artifact>>;
  lineage: (s: PlannedStage) => Lineage;
  current: (name: string) => Manifest | undefined;
}

/** Why a hit's entry was built from other input bytes than its inputs' entries hold now (cheap: manifests only). */
export function staleLineage(m: Manifest, io: StageIo): string | undefined {
  for (const [from, recorded] of Object.entries(m.lineage ?? {})) {
    const now = io.current(from);
    if (!now) continue;
    const why = lineageMismatch(from, recorded, lineageEntry(now.key, now.files));
    if (why) return why;
  }
  return undefined;
}

/** A stage's lineage: for each stage it reads, that entry's key and file digests (as checked when read). */
export function stageIo(manifests: ReadonlyMap<string, Manifest>, load: StageIo['load']): StageIo {
  return {
    load,
    lineage: (s) =>
      Object.fromEntries(
        [...new Set(Object.values(s.spec.inputs))].map((from) => [
          from,
          lineageEntry(manifests.get(from)!.key, manifests.get(from)!.files),
        ]),
      ),
    current: (name) => manifests.get(name),
  };
}
