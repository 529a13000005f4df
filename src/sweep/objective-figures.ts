import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Layout } from '../project/layout.js';
import type { SweepRecord } from '../tracking/sweep-record.js';
import { label, objectiveVsParamSpec, type ObjectivePoint } from '../plots/objective.js';

// A sweep's objective against each swept key: the figures the HTML report shows and the
// sweep's MLflow parent run carries (as SVG and PNG files in the sweep's folder).

export interface ObjectiveFigure {
  key: string;
  /** File name without extension: `<metric>-vs-<key>`. */
  name: string;
  spec: TopLevelSpec;
  caption: string;
}

/** The swept keys, in the order the sweep declares them. */
export function sweptKeys(sweep: SweepRecord): string[] {
  const declared = [...Object.keys(sweep.spec.grid ?? {}), ...Object.keys(sweep.spec.random?.params ?? {})];
  return [...new Set([...declared, ...sweep.trials.flatMap((t) => Object.keys(t.values))])];
}

/** One figure per swept key; none when no trial has an objective yet. */
export function objectiveFigures(sweep: SweepRecord): ObjectiveFigure[] {
  const scored = sweep.trials.filter((t) => t.objective);
  const keys = sweptKeys(sweep);
  const { metric, goal } = sweep.spec.objective;
  const best = sweep.best?.trial;
  if (scored.length === 0) return [];
  return keys.map((key) => {
    const others = keys.filter((k) => k !== key);
    const points: ObjectivePoint[] = scored.map((t) => ({
      trial: t.id,
      value: t.values[key],
      mean: t.objective!.mean,
      std: t.objective!.std,
      n: t.objective!.n,
      // One other key: its value names the line (the legend's title names the key).
      group:
        others.length === 1
          ? label(t.values[others[0]!])
          : others.map((k) => `${k}=${label(t.values[k])}`).join(' ') || 'all',
    }));
    const order = sweep.spec.grid?.[key] ?? sweep.trials.map((t) => t.values[key]);
    const spec = objectiveVsParamSpec({
      key,
      metric,
      goal,
      points,
      order,
      ...(best ? { best } : {}),
      ...(others.length === 1 ? { groupTitle: others[0] } : {}),
    });
    const caption = `${metric} of each trial against ${key}${others.length > 0 ? `; lines join trials with the same ${others.join(', ')}` : ''}`;
    return { key, name: `${metric}-vs-${key}`.replace(/[^\w.-]+/g, '_'), spec, caption };
  });
}

/**
 * Renders the figures into `<sweep folder>/plots/<name>.svg|png`; returns the files written,
 * relative to the project root. A figure that cannot be drawn is reported and skipped.
 */
export async function writeObjectiveFigures(
  layout: Layout,
  sweep: SweepRecord,
  dir: string,
  warn: (m: string) => void,
): Promise<string[]> {
  const figures = objectiveFigures(sweep);
  if (figures.length === 0) return [];
  const { renderFigure } = await import('../plots/render.js');
  const out = join(dir, 'plots');
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const f of figures) {
    try {
      const { svg, png } = await renderFigure(f.spec);
      for (const [ext, data] of [
        ['svg', svg],
        ['png', png],
      ] as const) {
        const file = join(out, `${f.name}.${ext}`);
        await writeFile(file, data);
        written.push(relative(layout.root, file).split(sep).join('/'));
      }
    } catch (err) {
      warn(`cannot draw ${f.name}: ${(err as Error).message}`);
    }
  }
  return written;
}
