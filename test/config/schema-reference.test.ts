import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaReference } from '../../src/config/schema-reference.js';
import { schemaFiles } from '../../src/config/schema-sources.js';
import { REPO } from '../helpers/project.js';

describe('the pipeline file reference', () => {
  it('docs/reference.md is what the schemas give (run `npm run docs:schemas` after changing one)', () => {
    expect(readFileSync(join(REPO, 'docs', 'reference.md'), 'utf8')).toBe(schemaReference(schemaFiles()));
  });

  it('lists every built-in stage and every key of its `with:`, nested keys as dotted paths', () => {
    const files = schemaFiles();
    const doc = schemaReference(files);
    for (const [rel, raw] of files) {
      if (!rel.startsWith('stages/')) continue;
      const s = raw as { title: string; properties?: Record<string, { properties?: Record<string, unknown> }> };
      expect(doc).toContain(`### \`${s.title}\``);
      for (const [key, sub] of Object.entries(s.properties ?? {})) {
        expect(doc).toContain(`| \`${key}\` |`);
        for (const inner of Object.keys(sub.properties ?? {})) expect(doc).toContain(`| \`${key}.${inner}\` |`);
      }
    }
  });

  it('says a key is required, its default and its bounds, and escapes pipes in cells', () => {
    const doc = schemaReference(
      new Map<string, object>([
        ['pipeline.schema.json', { properties: {}, definitions: { stage: {}, sweep: {}, distribution: {} } }],
        [
          'stages/x.schema.json',
          {
            title: 'x',
            description: 'A stage.',
            required: ['n'],
            properties: {
              n: { type: 'integer', minimum: 1, maximum: 9, default: 3, description: 'How many | at most 9.' },
              mode: { enum: ['a', 'b'] },
            },
          },
        ],
      ]),
    );
    expect(doc).toContain('| `n` | integer | `3` | How many \\| at most 9. **Required.** (≥ 1, ≤ 9) |');
    expect(doc).toContain('| `mode` | `"a"` \\| `"b"` |  |  |');
  });
});
