import { ParamflowError } from '../util/errors.js';
import type { SweepRecord } from '../tracking/sweep-record.js';
import { DEFAULT_OBJECTIVE, type SweepSpec } from '../config/sweep-spec.js';
import { SweepStore } from '../sweep/store.js';
import { resolveRunRef } from '../tracking/resolve-ref.js';
import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';

// Refs for compare and report: a sweep id prefix names a sweep, anything else a run
// (run id, run hash or stage key prefix, as resolveRunRef reads it).

export type ReportTarget = { kind: 'sweep'; sweep: SweepRecord } | { kind: 'run'; run: RunRecord };

/** The sweep `ref` names (`sweep-…` or a prefix only sweep ids have), or undefined for a run ref. */
async function sweepOf(ref: string, sweeps: SweepStore): Promise<SweepRecord | undefined> {
  const all = await sweeps.list();
  if (!ref.startsWith('sweep-') && !all.some((s) => s.sweepId.startsWith(ref))) return undefined;
  return sweeps.resolve(ref);
}

/** What `paramflow report [ref]` reports on: the newest sweep when no ref is given. */
export async function resolveReportTarget(
  ref: string | undefined,
  store: RunStore,
  runs: () => Promise<RunRecord[]>,
): Promise<ReportTarget> {
  const sweeps = new SweepStore(store.layout);
  if (ref === undefined) {
    if ((await sweeps.list()).length === 0) {
      throw new ParamflowError('PF_BAD_REF', 'no sweep recorded yet, and no run or sweep was named', {
        location: { file: '<command line>' },
        hint: 'name a run (`paramflow report <run-id>`), or run a sweep first (`paramflow run <file> --sweep key=v1,v2`)',
      });
    }
    return { kind: 'sweep', sweep: await sweeps.resolve(undefined) };
  }
  const sweep = await sweepOf(ref, sweeps);
  return sweep ? { kind: 'sweep', sweep } : { kind: 'run', run: resolveRunRef(ref, await runs()) };
}

export interface ComparedRuns {
  runs: RunRecord[];
  objective: SweepSpec['objective'];
}

/**
 * Each ref's runs, in the order given, without repeats: a run ref is one run, a sweep
 * ref is the first recorded replicate of each of its trials. The objective is that of
 * the first sweep named or that the runs belong to, else the default.
 */
export async function resolveCompareRefs(
  refs: readonly string[],
  store: RunStore,
  runs: () => Promise<RunRecord[]>,
  warn: (message: string) => void,
): Promise<ComparedRuns> {
  const sweeps = new SweepStore(store.layout);
  const out: RunRecord[] = [];
  let objective: SweepSpec['objective'] | undefined;
  for (const ref of refs) {
    const sweep = await sweepOf(ref, sweeps);
    if (!sweep) {
      out.push(resolveRunRef(ref, await runs()));
      continue;
    }
    objective ??= sweep.spec.objective;
    for (const t of sweep.trials) {
      const first = t.replicates.find((r) => r.runId !== undefined);
      if (first?.runId) out.push(await store.read(first.runId));
      else warn(`trial ${t.id} of ${sweep.sweepId} has no recorded run; left out`);
    }
  }
  const unique = out.filter((r, i) => out.findIndex((x) => x.runId === r.runId) === i);
  if (unique.length < 2) {
    throw new ParamflowError(
      'PF_BAD_REF',
      `compare needs two or more runs; ${refs.map((r) => `\`${r}\``).join(', ')} ${refs.length === 1 ? 'names' : 'name'} ${unique.length === 1 ? `only run ${unique[0]!.runId}` : 'no run'}`,
      {
        location: { file: '<command line>' },
        hint: 'name two runs, or a sweep (`paramflow runs` lists the runs; sweep ids are the folders of .paramflow/sweeps)',
      },
    );
  }
  if (!objective) {
    const tagged = unique.find((r) => r.sweep)?.sweep?.sweep;
    const sweep = tagged ? (await sweeps.list()).find((s) => s.sweepId === tagged) : undefined;
    objective = sweep?.spec.objective ?? DEFAULT_OBJECTIVE;
  }
  return { runs: unique, objective };
}
