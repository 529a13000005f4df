import type { Override } from './spec.js';

/**
 * Pairs each `--set` value with its column on the command line as the user typed it
 * (`paramflow run p.yaml --set a.b=1`), so override errors point at the flag.
 */
export function locateOverrides(
  values: readonly string[],
  argv: readonly string[] = process.argv.slice(2),
  flag = '--set',
): Override[] {
  const offsets: number[] = [];
  let col = 'paramflow '.length + 1;
  for (const arg of argv) {
    offsets.push(col);
    col += arg.length + 1;
  }
  const used = new Set<number>();
  return values.map((text) => {
    const i = argv.findIndex((a, idx) => !used.has(idx) && (a === text || a === `${flag}=${text}`));
    if (i < 0) return { text };
    used.add(i);
    const column = offsets[i]! + (argv[i]!.startsWith(`${flag}=`) ? `${flag}=`.length : 0);
    return { text, column };
  });
}
