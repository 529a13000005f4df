import type { JsonFlags } from '../command-options.js';
import { EXIT } from '../../util/errors.js';
import { diffRuns, type RunDiff, type StageVerdict } from '../../report/diff-runs.js';
import { label } from '../../plots/objective.js';
import { loadRun } from '../../tracking/load-run.js';
import { table } from '../../util/format.js';
import { projectStore } from './runs.js';

/** `paramflow diff <a> <b>`: why the two runs' hashes differ, stage by stage; exit 0 whenever it could compare. */
export async function diffCommand(refA: string, refB: string, flags: JsonFlags): Promise<number> {
  const { layout } = projectStore();
  const a = await loadRun(refA, { layout, env: process.env });
  const b = await loadRun(refB, { layout, env: process.env });
  const d = diffRuns(a.record, b.record);
  process.stdout.write(flags.json ? JSON.stringify(d, null, 2) + '\n' : diffText(d));
  return EXIT.ok;
}

const VERDICT: Record<StageVerdict, string> = {
  same: 'same',
  changed: 'changed',
  inputs: 'inputs changed',
  'only-a': 'only in A',
  'only-b': 'only in B',
};

export function diffText(d: RunDiff): string {
  const out: string[] = [];
  out.push(`A  ${d.a.runId}  ${d.a.pipeline}  hash ${d.a.runHash.slice(0, 12)}`);
  out.push(`B  ${d.b.runId}  ${d.b.pipeline}  hash ${d.b.runHash.slice(0, 12)}`);
  if (d.sameHash) out.push('', 'same run hash: the same experiment (same resolved pipeline and stage keys)');
  else
    out.push(
      '',
      `run hashes differ: ${count(d.changedByItself.length, 'stage')} changed by ${d.changedByItself.length === 1 ? 'itself' : 'themselves'}, ${count(d.changedByInputs.length, 'stage')} only through ${d.changedByInputs.length === 1 ? 'its' : 'their'} inputs${d.onlyInA.length + d.onlyInB.length ? `, ${count(d.onlyInA.length + d.onlyInB.length, 'stage')} in one run only` : ''}`,
    );
  for (const p of d.pipeline) out.push(`pipeline ${p.key}: ${label(p.a)} → ${label(p.b)}`);
  out.push('');
  const short = (k: string | null) => (k ? k.slice(0, 12) : '–');
  const rows = d.stages.flatMap((s) => {
    const verdict = `${VERDICT[s.verdict]}${s.stage === d.firstDivergent ? ' (first)' : ''}`;
    const [first, ...rest] = s.reasons.length ? s.reasons : [''];
    return [[s.stage, short(s.keyA), short(s.keyB), verdict, first!], ...rest.map((r) => ['', '', '', '', r])];
  });
  out.push(table(['STAGE', 'KEY A', 'KEY B', 'VERDICT', 'WHY'], rows));
  if (d.firstDivergent) {
    out.push('', `diverges first at: ${d.firstDivergent}`);
    if (d.changedByItself.length > 1) out.push(`also changed by themselves: ${d.changedByItself.slice(1).join(', ')}`);
    if (d.changedByInputs.length)
      out.push(`changed only because their inputs changed: ${d.changedByInputs.join(', ')}`);
  }
  out.push('', metricsText(d));
  out.push(
    '',
    d.environment.length
      ? `environment (not in the keys unless a stage records it; may explain metric differences)\n${table(
          ['FIELD', 'A', 'B'],
          d.environment.map((e) => [e.field, e.a ?? '–', e.b ?? '–']),
        )}`
      : 'environment: the same (paramflow, node, platform, backend, tfjs, git)',
  );
  return out.join('\n') + '\n';
}

function metricsText(d: RunDiff): string {
  const entries = Object.entries(d.metrics);
  if (entries.length === 0) return 'metrics: none recorded';
  const differing = entries.filter(([, m]) => m.delta !== 0);
  if (differing.length === 0) return `metrics: all ${entries.length} equal`;
  const rows = differing.map(([k, m]) => [
    k,
    num(m.a),
    num(m.b),
    m.delta === null
      ? '–'
      : `${m.delta > 0 ? '+' : ''}${num(m.delta)}${m.deltaPct === null ? '' : ` (${m.deltaPct > 0 ? '+' : ''}${m.deltaPct.toFixed(1)}%)`}`,
  ]);
  const same = entries.length - differing.length;
  return `metrics (B − A)${same ? `; ${same} more equal` : ''}\n${table(['METRIC', 'A', 'B', 'B − A'], rows)}`;
}

function num(v: number | null): string {
  return v === null ? '–' : Number(v.toPrecision(4)).toString();
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
