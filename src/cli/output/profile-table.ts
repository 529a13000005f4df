import type { StageProfile } from '../../backend/profile.js';

const TOP_KERNELS = 15;

/**
 * `paramflow run --profile`, as text: each executed stage's wall time, and for stages that ran
 * TensorFlow kernels the time inside them (the rest is tfjs's engine and layers plus the stage's
 * own code) and the slowest kernels, so the next bottleneck is visible.
 */
export function profileTable(
  profile: readonly StageProfile[],
  backend: string | undefined,
  jobs: number | undefined,
): string {
  if (profile.length === 0) return 'profile: no stage executed (all cached); rerun with --no-cache to profile them\n';
  const ms = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
  const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–');
  const lines = [`profile (ms${backend ? `; TensorFlow.js backend ${backend}` : ''})`];
  lines.push(
    table(
      ['STAGE', 'TOTAL', 'IN KERNELS', 'OUTSIDE KERNELS'],
      profile.map((p) => [
        p.stage,
        ms(p.ms),
        p.kernels.length ? ms(p.kernelMs) : '–',
        p.kernels.length ? ms(Math.max(0, p.ms - p.kernelMs)) : '–',
      ]),
    ),
  );
  for (const p of profile.filter((x) => x.kernels.length)) {
    lines.push('', `${p.stage}: kernels, slowest first (${p.kernels.length} kinds)`);
    const rows = p.kernels
      .slice(0, TOP_KERNELS)
      .map((k) => [k.kernel, String(k.calls), ms(k.ms), `${((1000 * k.ms) / k.calls).toFixed(1)}`, pct(k.ms, p.ms)]);
    lines.push(table(['KERNEL', 'CALLS', 'MS', 'µS/CALL', 'OF STAGE'], rows));
    if (p.kernels.length > TOP_KERNELS) lines.push(`  … ${p.kernels.length - TOP_KERNELS} more (--json lists all)`);
  }
  if ((jobs ?? 1) > 1 && profile.filter((p) => p.kernels.length).length > 1)
    lines.push('', 'note: stages running at the same time share kernel counts; --jobs 1 separates them');
  return `${lines.join('\n')}\n`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  return [line(header), ...rows.map(line)].join('\n');
}
