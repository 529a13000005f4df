import type { RunRecord } from '../run-record.js';

// What a reader of the MLflow UI sees first on a run's page (its description, the
// `mlflow.note.content` tag): the objective, what ran and what came from the cache, and how
// to get the run back. Metric keys stay as they are; this is where the objective leads.

/** The metric a run is judged by: the study's cross-validated error where it has one. */
export const OBJECTIVE_METRIC = 'cv_rmse_mean';

export function runDescription(record: RunRecord): string {
  const lines: string[] = [];
  const objective = record.metrics[OBJECTIVE_METRIC];
  if (objective !== undefined) lines.push(`**${OBJECTIVE_METRIC} = ${objective.toPrecision(6)}** (lower is better)`);
  else if (record.status !== 'FINISHED') lines.push(`**${record.status.toLowerCase()}**${failure(record)}`);
  const stages = Object.entries(record.stages).map(([name, s]) =>
    s.status === 'cached'
      ? `${name} (cached)`
      : s.durationMs !== undefined && s.status === 'executed'
        ? `${name} ${(s.durationMs / 1000).toFixed(1)} s`
        : record.pruned?.stage === name
          ? `${name} (pruned after ${record.pruned.epoch} epochs)`
          : `${name} (${s.status})`,
  );
  lines.push(`Pipeline \`${record.pipeline.name}\`: ${stages.join(' → ')}.`);
  if (record.sweep)
    lines.push(
      `Trial \`${record.sweep.trial}\` (replicate ${record.sweep.replicate}) of sweep \`${record.sweep.sweep}\`.`,
    );
  lines.push(
    `paramflow run \`${record.runId}\` (hash \`${record.runHash.slice(0, 12)}\`): \`paramflow show ${record.runId}\`, \`paramflow repro ${record.runId}\`.`,
  );
  return lines.join('\n\n');
}

function failure(record: RunRecord): string {
  const e = record.error;
  return e ? `: ${e.stage ? `stage ${e.stage}, ` : ''}${e.message}` : '';
}

/** An `origin` URL as a web page the UI can link a commit to (`git@host:o/r.git` → `https://host/o/r`). */
export function browsableRepoUrl(remote: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(.+?)(?:\.git)?\/?$/.exec(remote);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const u = new URL(remote);
    if (!/^(https?|ssh|git):$/.test(u.protocol)) return undefined;
    return `https://${u.hostname}${u.pathname.replace(/\.git\/?$/, '').replace(/\/$/, '')}`;
  } catch {
    return undefined;
  }
}
