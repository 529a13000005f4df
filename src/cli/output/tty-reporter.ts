import cliProgress from 'cli-progress';
import type { Reporter } from '../../runner/reporter.js';
import { plainReporter } from '../../runner/plain-reporter.js';

/** On a terminal: the plain lines above a live bar per running stage (with ETA). */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: true,
      hideCursor: true,
      format: ' {stage} [{bar}] {percentage}% {value}/{total} {unit}{detail} · ETA {eta_formatted}',
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  // The training fold's last epoch beside its stage's bar: `· fold 2 · val_loss 0.1234`.
  const details = new Map<string, string>();
  let lastDraw = 0;
  const lines = plainReporter((l) => multi.log(l + '\n'));
  const endBar = (stage: string) => {
    const bar = bars.get(stage);
    if (bar) {
      multi.remove(bar);
      bars.delete(stage);
    }
  };
  return {
    ...lines,
    stageProgress: (stage, done, total, unit) => {
      let bar = bars.get(stage);
      if (!bar) {
        bar = multi.create(total, 0, { stage, unit: unit ?? '', detail: '' });
        bars.set(stage, bar);
      }
      bar.setTotal(total);
      bar.update(done, { stage, unit: unit ?? '', detail: details.get(stage) ?? '' });
      // In-process stages compute synchronously, so the bar's own timer never fires
      // until they return: redraw from here, at most ten times a second.
      const now = Date.now();
      if (now - lastDraw > 100) {
        lastDraw = now;
        (multi as unknown as { update(): void }).update();
      }
    },
    stageFold: (stage, e) => {
      const [key, value] = Object.entries(e.metrics ?? {}).find(([k]) => k === 'val_loss') ?? [];
      details.set(stage, ` · fold ${e.fold}${value === undefined ? '' : ` · ${key} ${value.toPrecision(4)}`}`);
    },
    stageEnd: (stage, outcome, ms, detail) => {
      endBar(stage);
      details.delete(stage);
      lines.stageEnd(stage, outcome, ms, detail);
    },
    runEnd: (info) => {
      multi.stop();
      plainReporter().runEnd(info);
    },
  };
}
