import type { Reporter } from './reporter.js';
import { formatDuration } from '../util/format.js';

/** Plain lines for logs and pipes: no cursor movement, progress in quarter steps. */
export function plainReporter(write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Reporter {
  const lastQuarter = new Map<string, number>();
  return {
    runStart: (i) => {
      write(`run ${i.runId} · ${i.pipeline} · hash ${i.runHash.slice(0, 12)} · ${i.stages} stages`);
      if (i.backend) write(`backend ${i.backend}`);
    },
    stageStart: (stage, reason) => write(`▶ ${stage}: running (${reason || 'no earlier run'})`),
    stageProgress: (stage, done, total, unit) => {
      const q = Math.floor((4 * done) / Math.max(1, total));
      if (q > (lastQuarter.get(stage) ?? 0) && q < 4) {
        lastQuarter.set(stage, q);
        write(`  ${stage}: ${done}/${total}${unit ? ` ${unit}` : ''}`);
      }
    },
    stageLog: (stage, message) => write(`  ${stage}: ${message}`),
    note: (line) => write(line),
    stageWait: (stage, holder) => write(`… ${stage}: waiting for ${holder}, which is computing it`),
    stageEnd: (stage, outcome, ms, detail) => {
      if (outcome === 'cached') write(`• ${stage}: cached`);
      else if (outcome === 'executed') write(`✓ ${stage}: done in ${formatDuration(ms)}`);
      else write(`✗ ${stage}: ${outcome}${detail ? ` — ${detail}` : ''}`);
    },
    runEnd: (i) => {
      write(
        `${i.status === 'FINISHED' ? '✓' : '✗'} run ${i.runId} ${i.status.toLowerCase()}: ${i.executed} stage${i.executed === 1 ? '' : 's'} executed, ${i.cached} cached (${formatDuration(i.durationMs)})`,
      );
      for (const line of resultLines(i.metrics ?? {})) write(line);
    },
  };
}

const LEAD = 'cv_rmse_mean';

/**
 * A run's result, last: the objective, then each target's main errors
 * (`  A  rmse 0.0712 ± 0.0009 · mae 0.0561 · r2 0.9871`).
 */
export function resultLines(metrics: Record<string, number>): string[] {
  const fmt = (v: number | undefined) => (v === undefined ? '–' : Number(v.toPrecision(4)).toString());
  const lines: string[] = [];
  if (metrics[LEAD] !== undefined) lines.push(`  ${LEAD} ${fmt(metrics[LEAD])} (lower is better)`);
  const targets = [...new Set(Object.keys(metrics).flatMap((k) => /^rmse\.([^.]+)\.mean$/.exec(k)?.[1] ?? []))];
  const width = Math.max(0, ...targets.map((t) => t.length));
  for (const t of targets) {
    const rmse = `rmse ${fmt(metrics[`rmse.${t}.mean`])}${metrics[`rmse.${t}.std`] !== undefined ? ` ± ${fmt(metrics[`rmse.${t}.std`])}` : ''}`;
    const rest = ['mae', 'r2'].flatMap((m) =>
      metrics[`${m}.${t}.mean`] !== undefined ? [`${m} ${fmt(metrics[`${m}.${t}.mean`])}`] : [],
    );
    lines.push(`  ${t.padEnd(width)}  ${[rmse, ...rest].join(' · ')}`);
  }
  return lines;
}
