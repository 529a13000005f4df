import type { JsonFlags } from '../command-options.js';
import { EXIT } from '../../util/errors.js';
import { describeRun, type RunDescription } from '../../report/describe-run.js';
import { label } from '../../plots/objective.js';
import type { Environment } from '../../tracking/run-record.js';
import { loadRun } from '../../tracking/load-run.js';
import { refusedText } from '../../tracking/mlflow/refused.js';
import { formatBytes, formatDuration, table } from '../../util/format.js';
import { projectStore } from './runs.js';

/** `paramflow show <ref>`: one run, its stages, metrics, artifacts, environment and MLflow link. */
export async function showCommand(ref: string, flags: JsonFlags): Promise<number> {
  const { layout } = projectStore();
  const loaded = await loadRun(ref, { layout, env: process.env });
  const d = await describeRun(loaded, layout);
  process.stdout.write(flags.json ? JSON.stringify(d, null, 2) + '\n' : showText(d));
  return EXIT.ok;
}

export function showText(d: RunDescription): string {
  const out: string[] = [];
  const time = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '–');
  out.push(`run ${d.runId}${d.source === 'mlflow' ? "  (read from MLflow: not in this project's run store)" : ''}`);
  out.push(`  pipeline    ${d.pipeline.name} (${d.pipeline.file}) · experiment ${d.pipeline.experiment}`);
  out.push(`  run hash    ${d.runHash}`);
  out.push(
    `  status      ${d.status}${d.error ? ` — ${d.error.code}${d.error.stage ? ` in ${d.error.stage}` : ''}: ${d.error.message}` : ''}`,
  );
  out.push(
    `  time (UTC)  ${time(d.startedAt)} → ${time(d.endedAt)}${d.durationMs === null ? '' : ` (${formatDuration(d.durationMs)})`}`,
  );
  out.push(
    `  overrides   ${d.overrides.length ? d.overrides.map((o) => `--set ${o}`).join(' ') : '(none)'}${d.noCache ? ' --no-cache' : ''}`,
  );
  out.push(
    `  mlflow      ${d.mlflow ? (d.mlflow.url ?? `run ${d.mlflow.runId}`) : '(not logged to MLflow)'}${d.mlflowRefused ? `; ${refusedText(d.mlflowRefused, d.runId)}` : ''}`,
  );
  out.push('', 'stages');
  out.push(
    table(
      ['STAGE', 'TYPE', 'KEY', 'VERSION', 'STATUS', 'TIME', 'WHY', 'METRICS'],
      d.stages.map((s) => [
        s.name,
        s.type,
        s.key.slice(0, 12),
        s.version,
        s.status,
        s.durationMs === null ? '–' : formatDuration(s.durationMs),
        s.reason ?? '',
        metricText(s.metrics, 3),
      ]),
    ),
  );
  out.push('', 'metrics');
  const metrics = Object.entries(d.metrics);
  out.push(
    metrics.length
      ? table(
          ['METRIC', 'VALUE'],
          metrics.map(([k, v]) => [k, num(v)]),
        )
      : '  (none recorded)',
  );
  out.push('', 'params');
  out.push(
    table(
      ['PARAM', 'VALUE'],
      Object.entries(d.params).map(([k, v]) => [k, label(v)]),
    ),
  );
  out.push('', `artifacts (in .paramflow/runs/${d.runId}/artifacts)`);
  out.push(
    d.artifacts.run.length
      ? table(
          ['FILE', 'SIZE'],
          d.artifacts.run.map((f) => [f.path, formatBytes(f.size)]),
        )
      : '  (none in this project)',
  );
  out.push('', 'cache files');
  out.push(
    d.artifacts.cache.length
      ? table(
          ['STAGE', 'KEY', 'FILE', 'SIZE', 'IN CACHE'],
          d.artifacts.cache.map((f) => [
            f.stage,
            f.key.slice(0, 12),
            f.file,
            formatBytes(f.size),
            f.cached ? 'yes' : 'no',
          ]),
        )
      : '  (none recorded)',
  );
  out.push('', 'environment', `  ${environmentText(d.environment)}`);
  return out.join('\n') + '\n';
}

/** `paramflow 0.1.0 · node v20.19.0 · linux x64 · backend wasm (tfjs 4.22.0) · git 1a2b3c4d5e (dirty)`. */
export function environmentText(e: Environment): string {
  const backend = e.backend ? `backend ${e.backend.name} (tfjs ${e.backend.tfjs})` : 'no TensorFlow.js backend';
  const git = e.git ? `git ${e.git.commit.slice(0, 10)}${e.git.dirty ? ' (dirty)' : ''}` : 'not in a git work tree';
  return [`paramflow ${e.paramflow}`, `node ${e.node}`, `${e.platform} ${e.arch}`, backend, git].join(' · ');
}

function metricText(m: Record<string, number>, n: number): string {
  const entries = Object.entries(m);
  const shown = entries.slice(0, n).map(([k, v]) => `${k}=${num(v)}`);
  return entries.length > n ? `${shown.join(' ')} (+${entries.length - n})` : shown.join(' ');
}

function num(v: number): string {
  return Number(v.toPrecision(4)).toString();
}
