import type { RunsFlags } from '../command-options.js';
import { Layout } from '../../project/layout.js';
import { findProjectRoot } from '../../project/root.js';
import { EXIT, ParamflowError } from '../../util/errors.js';
import type { RunRecord } from '../../tracking/run-record.js';
import { resolveRunRef } from '../../tracking/resolve-ref.js';
import { foldRepeats } from '../../tracking/repeats.js';
import { RunStore } from '../../tracking/run-store.js';
import { table } from '../../util/format.js';
import { mlflowState, refusedText } from '../../tracking/mlflow/index.js';
import { sweepTableCommand } from './sweep-table.js';

export function projectStore(): RunStore {
  return new RunStore(new Layout(findProjectRoot(process.cwd())));
}

export async function listRuns(store: RunStore): Promise<RunRecord[]> {
  return store.list((id, err) => process.stderr.write(`warning: skipping run ${id}: ${(err as Error).message}\n`));
}

export async function runsCommand(flags: RunsFlags): Promise<number> {
  const store = projectStore();
  if (flags.sweep !== undefined) return sweepTableCommand(store, flags.sweep, flags);
  if (flags.sort !== undefined)
    throw new ParamflowError('PF_BAD_FLAG', '--sort sorts the trials of a sweep; the run list is newest first', {
      location: { file: '<command line>' },
      hint: `add --sweep (the newest sweep) or --sweep <ref>: \`paramflow runs --sweep --sort ${flags.sort}\``,
    });
  let all = await listRuns(store);
  if (flags.pipeline) all = all.filter((r) => r.pipeline.name === flags.pipeline);
  // Cached no-op reruns are folded into the run they repeat (JSON and --all list every run).
  const folded = flags.json || flags.all ? all.map((run) => ({ run, repeats: 0 })) : foldRepeats(all);
  const listed = flags.limit ? folded.slice(0, flags.limit) : folded;
  const runs = listed.map((l) => l.run);
  const tracking = await Promise.all(runs.map((r) => mlflowState(store.layout, { kind: 'run', id: r.runId })));
  if (flags.json) {
    const rows = runs.map((r, i) => ({
      ...summary(r),
      mlflow: {
        state: tracking[i]!.state,
        pending: tracking[i]!.pending,
        refused: tracking[i]!.rejected,
        runId: tracking[i]!.mlflowRunId ?? null,
        url: tracking[i]!.url ?? null,
      },
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return EXIT.ok;
  }
  if (runs.length === 0) {
    process.stdout.write('no runs recorded yet (paramflow run <pipeline.yaml> records one)\n');
    return EXIT.ok;
  }
  const rows = runs.map((r, i) => {
    const s = summary(r);
    const t = tracking[i]!;
    const mlflow = t.state === 'off' ? '-' : `${t.label}${t.mlflowRunId ? ` ${t.mlflowRunId.slice(0, 8)}` : ''}`;
    return [
      s.runId,
      s.runHash.slice(0, 10),
      s.pipeline,
      s.status,
      s.started.replace('T', ' ').slice(0, 19),
      `${s.executed}/${s.cached}${listed[i]!.repeats > 0 ? ` +${listed[i]!.repeats} no-op` : ''}`,
      mlflow,
      s.params,
      s.metrics,
    ];
  });
  process.stdout.write(
    table(['RUN', 'HASH', 'PIPELINE', 'STATUS', 'STARTED (UTC)', 'RAN/CACHED', 'MLFLOW', 'SET', 'METRICS'], rows) +
      '\n',
  );
  // The column says `refused N`; the sentence says what that means and where to look.
  for (const [i, t] of tracking.entries())
    if (t.rejected > 0) process.stdout.write(`${runs[i]!.runId}: ${refusedText(t.rejected, runs[i]!.runId)}\n`);
  return EXIT.ok;
}

/** The objective first, then the per-target summaries, then the rest. */
const KEY_METRICS = ['cv_rmse_mean', 'cv_rmse_std', 'val_loss_mean'];
const rank = (k: string) => (KEY_METRICS.includes(k) ? KEY_METRICS.indexOf(k) : k.endsWith('.mean') ? 10 : 20);

function summary(r: RunRecord) {
  const stages = Object.values(r.stages);
  return {
    runId: r.runId,
    runHash: r.runHash,
    pipeline: r.pipeline.name,
    file: r.pipeline.file,
    status: r.status,
    started: r.startedAt,
    ended: r.endedAt ?? null,
    executed: stages.filter((s) => s.status === 'executed').length,
    cached: stages.filter((s) => s.status === 'cached').length,
    params: r.options.overrides.join(' '),
    backend: r.environment.backend?.name ?? null,
    overrides: r.options.overrides,
    metrics: Object.entries(r.metrics)
      .sort(([a], [b]) => rank(a) - rank(b))
      .slice(0, 3)
      .map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`)
      .join(' '),
    metricValues: r.metrics,
  };
}

export async function runsRmCommand(refs: string[]): Promise<number> {
  const store = projectStore();
  const runs = await listRuns(store);
  const targets = refs.map((ref) => resolveRunRef(ref, runs));
  // A RUNNING record here has a live process (a dead one's is listed KILLED): its run store
  // folder is still being written, so it stays. The others go; the command then fails.
  const live = targets.filter((r) => r.status === 'RUNNING');
  for (const r of targets) {
    if (r.status === 'RUNNING') continue;
    await store.remove(r.runId);
    process.stdout.write(`removed run ${r.runId} (${r.pipeline.name}, ${r.status})\n`);
  }
  if (live.length > 0) {
    throw new ParamflowError(
      'PF_RUN_STORE',
      `not removed: ${live.map((r) => `run ${r.runId} is still running (pid ${r.pid} on ${r.host})`).join('; ')}`,
      {
        hint: 'stop it first (Ctrl-C where it runs, or kill its pid), or let it finish; then remove it',
      },
    );
  }
  return EXIT.ok;
}
