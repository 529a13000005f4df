import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README stays short and every relative link in it and in docs/*.md leads somewhere.

const ROOT = join(import.meta.dirname, '..', '..');
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The file's lines outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation removed except '-' and '_', spaces to '-'. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

/** The anchors of a markdown file's headings; a repeated one gets -1, -2, … as on GitHub. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(read(file))) {
    const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading.trim());
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The targets of a file's markdown links, outside code blocks and code spans. */
function links(file: string): string[] {
  const text = prose(read(file))
    .join('\n')
    .replace(/`[^`\n]*`/g, 'code');
  return [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
}

describe('README.md', () => {
  const lines = read('README.md').replace(/\n$/, '').split('\n');

  it('has at most 250 lines', () => {
    expect(lines.length).toBeLessThanOrEqual(250);
  });

  it('opens its first code block with the install-and-run command', () => {
    const fence = lines.findIndex((line) => line.startsWith('```'));
    expect(fence).toBeGreaterThan(-1);
    expect(lines[fence + 1]).toMatch(/^npm install && \.\/paramflow run pipelines\/seed-study\.yaml(\s+#.*)?$/);
  });
});

describe('relative links in README.md and docs/*.md', () => {
  it.each(FILES)('%s: every link resolves to a file and, with #anchor, to a heading there', (file) => {
    const broken: string[] = [];
    for (const target of links(file)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [path = '', anchor] = target.split('#', 2);
      const resolved = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), path));
      if (!existsSync(join(ROOT, resolved))) broken.push(`${target}: no file ${resolved}`);
      else if (anchor !== undefined && !anchors(resolved).has(anchor))
        broken.push(`${target}: no heading #${anchor} in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });
});
