import cliProgress from 'cli-progress';
import type { Reporter } from '../../runner/reporter.js';
import { plainReporter } from '../../runner/plain-reporter.js';

/**
 * On a terminal: the plain lines above a live bar per running stage (with ETA). Every line the
 * piped output has appears here too: cli-progress keeps a logged line until its next redraw and
 * drops it when it stops, so lines go straight to the terminal while no bar is drawn, and the
 * bars' buffer is flushed before the last one goes.
 */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  const multi = new cliProgress.MultiBar(
    { stream, clearOnComplete: true, hideCursor: true, barsize: 24, format: barLine },
    cliProgress.Presets.shades_classic,
  );
  const redraw = () => (multi as unknown as { update(): void }).update();
  const bars = new Map<string, cliProgress.SingleBar>();
  // The training fold's last epoch beside its stage's bar: `· fold 2 · val_loss 0.1234`.
  const details = new Map<string, string>();
  let lastDraw = 0;
  // While bars are drawn the terminal's line wrap is off (cli-progress turns it off to redraw
  // in place): a long line is wrapped here, never cut at the terminal's width.
  const lines = plainReporter((l) =>
    bars.size > 0 ? multi.log(wrap(l, stream.columns ?? 80).join('\n') + '\n') : stream.write(l + '\n'),
  );
  const endBar = (stage: string) => {
    const bar = bars.get(stage);
    if (!bar) return;
    if (bars.size === 1) redraw(); // the lines logged while it was drawn, before it goes
    multi.remove(bar);
    bars.delete(stage);
    if (bars.size === 0) multi.stop();
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
        redraw();
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
      for (const stage of [...bars.keys()]) endBar(stage);
      lines.runEnd(info);
    },
  };
}

/** ` train [████░░] 40% 96/240 epochs · fold 1 · val_loss 0.1234 · ETA 1m05s` */
function barLine(
  options: cliProgress.Options,
  params: cliProgress.Params,
  payload: { stage: string; unit: string; detail: string },
): string {
  const size = options.barsize ?? 24;
  const full = Math.round(params.progress * size);
  const bar =
    (options.barCompleteString ?? '').slice(0, full) + (options.barIncompleteString ?? '').slice(0, size - full);
  const pct = Math.floor(params.progress * 100);
  return ` ${payload.stage} [${bar}] ${pct}% ${params.value}/${params.total} ${payload.unit}${payload.detail} · ETA ${eta(params.eta)}`;
}

/** Whole seconds, carried into minutes and hours (never `6m60s`). */
export function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '…';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `line` in pieces of at most `width` characters, broken at spaces where it can be; later pieces indented. */
export function wrap(line: string, width: number): string[] {
  const max = Math.max(20, width - 1);
  const out: string[] = [];
  let rest = line;
  while ([...rest].length > max) {
    const head = [...rest].slice(0, max).join('');
    const cut = head.lastIndexOf(' ');
    const at = cut > max / 2 ? cut : head.length;
    out.push(rest.slice(0, at).trimEnd());
    rest = `    ${rest.slice(at).trimStart()}`;
  }
  out.push(rest);
  return out;
}
