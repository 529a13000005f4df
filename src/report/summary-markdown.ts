import type { ExportSummary } from './export-run.js';
import { label } from '../plots/objective.js';
import { refusedText } from '../tracking/mlflow/refused.js';

// summary.md of `paramflow export`: what a colleague reads before rerunning the run.

export function summaryMarkdown(s: ExportSummary): string {
  const r = s.run;
  const e = r.environment;
  const lines: string[] = [
    `# ${r.pipeline.name} — run ${r.runId}`,
    '',
    `| | |`,
    `|---|---|`,
    `| run hash | \`${r.runHash}\` |`,
    `| status | ${r.status}${r.error ? ` (${r.error.code}: ${cell(r.error.message)})` : ''} |`,
    `| pipeline | ${cell(r.pipeline.file)} · experiment ${cell(r.pipeline.experiment)} |`,
    `| started (UTC) | ${r.startedAt} |`,
    `| ended (UTC) | ${r.endedAt ?? '–'} |`,
    `| overrides | ${r.overrides.length ? r.overrides.map((o) => `\`--set ${o}\``).join(' ') : 'none'} |`,
    `| MLflow | ${r.mlflow?.url ? `[${r.mlflow.runId}](${r.mlflow.url})` : r.mlflow ? r.mlflow.runId : 'not logged'}${r.mlflowRefused ? `; ${refusedText(r.mlflowRefused, r.runId)}` : ''} |`,
    '',
    '## How to rerun',
    '',
    'In this folder:',
    '',
    '```sh',
    s.rerun.command,
    '```',
    '',
    `gives run hash \`${s.rerun.runHash}\` (the resolved pipeline and its stage keys; the file's name and folder are not part of it).`,
    ...s.rerun.notes.map((n) => `- ${n}`),
    '',
    '## Metrics',
    '',
    ...table(
      ['metric', 'value'],
      Object.entries(r.metrics).map(([k, v]) => [k, String(v)]),
      'none recorded',
    ),
    '',
    '## Stages',
    '',
    ...table(
      ['stage', 'type', 'version', 'key', 'status'],
      r.stages.map((st) => [st.name, st.type, st.version, `\`${st.key}\``, st.status]),
      'none',
    ),
    '',
    '## Params',
    '',
    ...table(
      ['param', 'value'],
      Object.entries(r.params).map(([k, v]) => [k, `\`${label(v)}\``]),
      'none',
    ),
    '',
    '## Environment',
    '',
    `- paramflow ${e.paramflow}, Node ${e.node}, ${e.platform} ${e.arch}`,
    `- backend: ${e.backend ? `${e.backend.name} (tfjs ${e.backend.tfjs}; ${e.backend.reason})` : 'none (no TensorFlow.js stage)'}`,
    `- git: ${e.git ? `${e.git.commit}${e.git.dirty ? ' (uncommitted changes)' : ''}` : 'not a git work tree'}`,
    '',
  ];
  return lines.join('\n');
}

function table(headers: string[], rows: string[][], empty: string): string[] {
  if (rows.length === 0) return [empty];
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** A table cell: pipes escaped, on one line. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
