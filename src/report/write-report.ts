import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SweepStore } from '../sweep/store.js';
import { DEFAULT_OBJECTIVE } from '../config/sweep-spec.js';
import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { resolveReportTarget } from './resolve-refs.js';
import { runReportHtml } from './run-report.js';
import { sweepReportHtml } from './sweep-report.js';

export interface ReportOptions {
  store: RunStore;
  /** A sweep id prefix or a run ref; the newest sweep when undefined. */
  ref?: string;
  /** Where to write; default `.paramflow/reports/<id>.html`. */
  out?: string;
  /** Every recorded run (for run refs), read only when needed. */
  runs: () => Promise<RunRecord[]>;
  warn: (message: string) => void;
}

// `paramflow report` as a function: one HTML file readable without MLflow or a network.
export async function writeReport(o: ReportOptions): Promise<{ path: string; kind: 'sweep' | 'run'; id: string }> {
  const target = await resolveReportTarget(o.ref, o.store, o.runs);
  const id = target.kind === 'sweep' ? target.sweep.sweepId : target.run.runId;
  const html =
    target.kind === 'sweep'
      ? await sweepReportHtml(o.store, target.sweep, o.warn)
      : await runReportHtml(o.store, target.run, await objectiveOf(o.store, target.run), o.warn);
  const path = o.out ? resolve(o.out) : o.store.layout.report(id);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomically(path, html, { doing: 'writing the report', fault: 'report-write' });
  return { path, kind: target.kind, id };
}

/** A sweep trial's objective is its sweep's; any other run's is the default. */
async function objectiveOf(store: RunStore, run: RunRecord): Promise<string> {
  if (!run.sweep) return DEFAULT_OBJECTIVE.metric;
  const sweep = (await new SweepStore(store.layout).list()).find((s) => s.sweepId === run.sweep!.sweep);
  return sweep?.spec.objective.metric ?? DEFAULT_OBJECTIVE.metric;
}
