import { Layout } from '../project/layout.js';
import { loadRunnablePipeline } from '../pipeline/load.js';
import type { Override } from '../config/spec.js';
import { builtinRegistry } from '../stage-contract/registry.js';
import type { RunRecord } from '../tracking/run-record.js';
import { RunStore } from '../tracking/run-store.js';
import type { TrialOutcome } from './trial-executor.js';
import type { SweepOptions } from './run-sweep.js';

export interface ElsewhereOptions extends Required<Pick<SweepOptions, 'makeExecutor'>> {
  file: string;
  overrides: readonly Override[];
  noCache?: boolean;
  backend?: string;
  signal?: AbortSignal;
}

export type ElsewhereResult =
  /** The run's record, now in this project's run store (the queue copies it here; a Slurm task writes it on the shared disk). */
  | { kind: 'recorded'; record: RunRecord; executed: string[]; cached: string[]; durationMs: number; logsOn?: string }
  /** The worker refused the run as bad input (its pipeline file differs, a backend it cannot load...): exit 2. */
  | { kind: 'bad-input'; message: string }
  /** Stopped here (Ctrl-C) before a record came back. */
  | { kind: 'killed'; message: string }
  /** No record: the job failed before the run began or its worker died. */
  | { kind: 'failed'; message: string };

/**
 * `run --executor queue|slurm` for a pipeline without a sweep: the run goes, as one job, to
 * where the sweep's trials would go, and its record comes back to this project's run store.
 * The pipeline is validated here first (bad input is found before anything is submitted);
 * the worker validates its own copy again. No sweep tag: the record is a plain run's.
 * One attempt, as a local run has: the queue still hands a job whose worker died to another.
 */
export async function runElsewhere(o: ElsewhereOptions): Promise<ElsewhereResult> {
  const base = await loadRunnablePipeline(o.file, { registry: await builtinRegistry(), overrides: o.overrides });
  const layout = new Layout(base.root);
  const executor = o.makeExecutor(base, layout);
  // A queue worker in another folder learns the server and experiment from the job (no parent: not a sweep's).
  const env =
    base.tracking.uri && executor.elsewhere
      ? (await import('../tracking/mlflow/uri.js')).trackingEnvElsewhere(base.tracking.uri, base.tracking.experiment)
      : undefined;
  const signal = o.signal ?? new AbortController().signal;
  let out: TrialOutcome;
  try {
    out = await executor.run(
      {
        file: base.file,
        sets: o.overrides.map((x) => x.text),
        noCache: Boolean(o.noCache),
        ...(o.backend ? { backend: o.backend } : {}),
        ...(env ? { env } : {}),
        cwd: process.cwd(),
      },
      signal,
    );
  } finally {
    await executor.close?.();
  }
  const record = out.runId ? await new RunStore(layout).read(out.runId).catch(() => undefined) : undefined;
  if (record) {
    const stages = (status: string) =>
      Object.entries(record.stages)
        .filter(([, s]) => s.status === status)
        .map(([n]) => n);
    const durationMs = record.endedAt ? Date.parse(record.endedAt) - Date.parse(record.startedAt) : 0;
    // A queue worker's stage logs stay on its machine; a Slurm task's are on the shared disk.
    return {
      kind: 'recorded',
      record,
      executed: stages('executed'),
      cached: stages('cached'),
      durationMs,
      ...(executor.elsewhere ? { logsOn: record.host } : {}),
    };
  }
  if (out.ok) return { kind: 'failed', message: `run ${out.runId} finished but its record is not in ${layout.home}` };
  if (out.badInput) return { kind: 'bad-input', message: out.message };
  return { kind: signal.aborted ? 'killed' : 'failed', message: out.message };
}
