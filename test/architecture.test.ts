import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/project.js';

// The layers of docs/architecture.md, checked against every static import of src/ and stages/.

const DOC = readFileSync(join(REPO, 'docs', 'architecture.md'), 'utf8');

/** The rows of the markdown table under `heading`, as cells. */
function tableUnder(heading: string): string[][] {
  const section = DOC.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/architecture.md has no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1) // the header row
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
/** Layer names top to bottom, and each folder's rank (0 = ground). */
const layers = tableUnder('Layers').map(([name, folders]) => ({ name: name!, folders: ticked(folders!) }));
const rank = new Map(layers.flatMap((l, i) => l.folders.map((f) => [f, layers.length - 1 - i] as const)));
const exceptions = new Set(
  tableUnder('Known exceptions').map(([from, to]) => `${ticked(from!)[0]} → ${ticked(to!)[0]}`),
);
const STAGE_CEILING = rank.get('src/plots')!;

/** The node a file belongs to: `src/<folder>`, a file at the top of src/, or `stages/<name>`. */
function nodeOf(file: string): string {
  const parts = relative(REPO, file).split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : parts.join('/');
  return parts.length > 2 ? `stages/${parts[1]}` : parts.join('/');
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mts|mjs)$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
  });
}

// `import … from`, `export … from`, side-effect imports and `import('…').Type` in types; not `await import(…)`.
const IMPORT =
  /^\s*(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]|(?<!await )import\(['"](\.[^'"]+)['"]\)\./gm;

/** Every arrow between nodes: `from → to` with the files that make it. */
function arrows(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of [...sources(join(REPO, 'src')), ...sources(join(REPO, 'stages'))]) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1] ?? m[2] ?? m[3]!).replace(/\.js$/, '.ts');
      const [from, to] = [nodeOf(file), nodeOf(target)];
      if (from === to) continue;
      const key = `${from} → ${to}`;
      out.set(key, [...(out.get(key) ?? []), relative(REPO, file)]);
    }
  }
  return out;
}

function allowed(from: string, to: string): boolean {
  if (exceptions.has(`${from} → ${to}`)) return true;
  if (from.startsWith('stages/'))
    return to.startsWith('stages/') ? from === 'stages/index.ts' : (rank.get(to) ?? Infinity) <= STAGE_CEILING;
  if (to.startsWith('stages/')) return false;
  return (rank.get(to) ?? Infinity) < (rank.get(from) ?? -Infinity);
}

describe('the architecture (docs/architecture.md)', () => {
  const found = arrows();

  it('lists every folder of src/ in exactly one layer, and no folder that is not there', () => {
    const tree = readdirSync(join(REPO, 'src'))
      .map((f) => `src/${f}`)
      .filter((f) => statSync(join(REPO, f)).isDirectory() || f === 'src/index.ts');
    const listed = layers.flatMap((l) => l.folders);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(tree.sort());
    for (const f of listed) expect(existsSync(join(REPO, f)), f).toBe(true);
  });

  it('has imports only down the layers (and stages only onto the plots layer and below)', () => {
    const wrong = [...found]
      .filter(([arrow]) => !allowed(...(arrow.split(' → ') as [string, string])))
      .map(([arrow, files]) => `${arrow} (${[...new Set(files)].join(', ')})`);
    expect(wrong).toEqual([]);
  });

  it('lists only exceptions that still exist', () => {
    expect([...exceptions].filter((e) => !found.has(e))).toEqual([]);
  });

  it('refuses arrows up the layers, across a layer, out of a stage, and into a stage', () => {
    expect(allowed('src/util', 'src/cli')).toBe(false);
    expect(allowed('src/cache', 'src/tracking')).toBe(false);
    expect(allowed('stages/train', 'src/runner')).toBe(false);
    expect(allowed('stages/train', 'stages/simulate')).toBe(false);
    expect(allowed('src/runner', 'stages/train')).toBe(false);
    expect(allowed('src/runner', 'src/cache')).toBe(true);
  });

  it('sees the imports it checks: a sample of arrows known to exist', () => {
    for (const arrow of [
      'src/cli → src/runner',
      'src/runner → src/cache',
      'stages/train → src/stage-contract',
      'src/config → src/stage-contract',
    ])
      expect(found.has(arrow), arrow).toBe(true);
  });
});
