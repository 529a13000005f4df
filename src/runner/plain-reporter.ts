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
    runEnd: (i) =>
      write(
        `${i.status === 'FINISHED' ? '✓' : '✗'} run ${i.runId} ${i.status.toLowerCase()}: ${i.executed} stage${i.executed === 1 ? '' : 's'} executed, ${i.cached} cached (${formatDuration(i.durationMs)})`,
      ),
  };
}
