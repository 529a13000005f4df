import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';
import { orderMetrics } from './compare-runs.js';
import { flattenParams } from './flatten-params.js';
import { facts, htmlPage, htmlTable, note, section } from './html.js';
import { label } from '../plots/objective.js';
import { FigureIds, keptPlots, learningCurvesFigure, metricsTable } from './run-sections.js';

/** The self-contained HTML page of one run: its params, metrics, stages and plots. */
export async function runReportHtml(
  store: RunStore,
  run: RunRecord,
  objective: string,
  warn: (m: string) => void,
): Promise<string> {
  const ids = new FigureIds();
  const params = flattenParams(run);
  const stages = Object.entries(run.stages);
  const duration = run.endedAt ? `${((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s` : '–';
  const summary = facts([
    ['run', run.runId],
    ['run hash', run.runHash],
    ['pipeline', `${run.pipeline.name} (${run.pipeline.file})`],
    ['status', run.status + (run.error ? ` · ${run.error.code}: ${run.error.message}` : '')],
    ['started', run.startedAt],
    ['duration', duration],
    ['--set', run.options.overrides.length > 0 ? run.options.overrides.join(' ') : '–'],
    ['sweep', run.sweep ? `${run.sweep.sweep} · trial ${run.sweep.trial} · replicate ${run.sweep.replicate}` : '–'],
    [
      'backend',
      run.environment.backend ? `${run.environment.backend.name} (tfjs ${run.environment.backend.tfjs})` : '–',
    ],
    ['git', run.environment.git ? `${run.environment.git.commit}${run.environment.git.dirty ? ' (dirty)' : ''}` : '–'],
  ]);
  const stageRows = stages.map(([name, s]) => [
    name,
    s.type,
    s.status,
    s.key.slice(0, 12),
    s.durationMs === undefined ? '–' : `${(s.durationMs / 1000).toFixed(2)} s`,
    s.reason ?? '',
  ]);
  const plots = await keptPlots(store.layout.run(run.runId), run, ids);
  return htmlPage(`Run ${run.runId}`, `${run.pipeline.name} · ${run.status} · objective ${objective}`, [
    section('Summary', summary),
    section(
      'Params',
      htmlTable(
        ['param', 'value'],
        Object.entries(params).map(([k, v]) => [k, label(v)]),
      ),
    ),
    section(
      'Metrics',
      Object.keys(run.metrics).length > 0
        ? metricsTable(run.metrics, orderMetrics(Object.keys(run.metrics), objective))
        : note('this run recorded no metrics'),
    ),
    section('Stages', htmlTable(['stage', 'type', 'status', 'key', 'duration', 'why'], stageRows)),
    section('Learning curves', await learningCurvesFigure(run, ids, warn)),
    section('Plots', ...(plots.length > 0 ? plots : [note('this run kept no plots (artifacts/<stage>/plots/*.svg)')])),
  ]);
}
