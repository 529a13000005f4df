import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { learningCurvesSpec } from '../plots/evaluate.js';
import type { RunRecord } from '../tracking/run-record.js';
import { figure, htmlTable, note } from './html.js';
import { inlineSvg } from './inline-svg.js';
import { foldHistories } from './fold-histories.js';
import { renderSvg } from './render.js';

// Pieces of a report about one run, shared by the run report and a sweep's best trial.

/** Numbers to 4 significant digits; a missing value as a dash. */
export function fmt(x: number | null | undefined): string {
  return x === undefined || x === null || Number.isNaN(x) ? '–' : Number(x.toPrecision(4)).toString();
}

/** Hands out page-unique id prefixes for inlined SVGs. */
export class FigureIds {
  private n = 0;
  next(): string {
    return `pf${++this.n}`;
  }
}

/** The learning curves of the run's training folds, rendered from run.json; a note when it has none. */
export async function learningCurvesFigure(run: RunRecord, ids: FigureIds, warn: (m: string) => void): Promise<string> {
  const found = foldHistories(run);
  if (!found) return note('this run recorded no training history (no stage reported a loss series per fold)');
  try {
    const svg = await renderSvg(learningCurvesSpec(found.history));
    return figure(
      inlineSvg(svg, ids.next()),
      `loss and val_loss per epoch for each fold of stage ${found.stage} (run ${run.runId})`,
    );
  } catch (err) {
    warn(`cannot draw the learning curves of run ${run.runId}: ${(err as Error).message}`);
    return note(`the learning curves could not be drawn: ${(err as Error).message}`);
  }
}

/** The SVG plots a run kept (`artifacts/<stage>/plots/*.svg`), in stage order; only `names` when given. */
export async function keptPlots(
  runDir: string,
  run: RunRecord,
  ids: FigureIds,
  names?: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const stage of Object.keys(run.stages)) {
    const dir = join(runDir, 'artifacts', stage, 'plots');
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.svg')).sort();
    for (const f of files) {
      const name = f.slice(0, -'.svg'.length);
      if (names && !names.includes(name)) continue;
      const svg = inlineSvg(await readFile(join(dir, f), 'utf8'), ids.next());
      if (svg) out.push(figure(svg, `${name} (stage ${stage}, run ${run.runId})`));
    }
  }
  return out;
}

/** Metric, value rows, in the order given. */
export function metricsTable(metrics: Readonly<Record<string, number>>, order: readonly string[]): string {
  return htmlTable(
    ['metric', 'value'],
    order.filter((k) => k in metrics).map((k) => [k, fmt(metrics[k])]),
    { numeric: new Set([1]) },
  );
}
