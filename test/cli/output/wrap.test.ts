import { describe, expect, it } from 'vitest';
import { wrap } from '../../../src/cli/output/tty-reporter.js';

describe('wrap (lines logged while bars are drawn, when the terminal does not wrap)', () => {
  it('keeps every word, breaks at spaces within the width, and indents what follows', () => {
    const line =
      'backend native: fastest that loads; skipped tfjs-node: @tensorflow/tfjs-node is not installed (install it, or `npm run build:native`)';
    const pieces = wrap(line, 60);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect([...p].length).toBeLessThanOrEqual(59);
    expect(pieces.slice(1).every((p) => p.startsWith('    '))).toBe(true);
    expect(pieces.map((p) => p.trim()).join(' ')).toBe(line);
  });

  it('leaves a short line alone, and cuts a word longer than the width', () => {
    expect(wrap('✓ train: done in 1.2s', 80)).toEqual(['✓ train: done in 1.2s']);
    const long = 'x'.repeat(130);
    expect(
      wrap(long, 60)
        .map((p) => p.trim())
        .join(''),
    ).toBe(long);
  });
});
