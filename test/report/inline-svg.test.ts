import { describe, expect, it } from 'vitest';
import { inlineSvg } from '../../src/report/inline-svg.js';

describe('inlineSvg', () => {
  it('drops the prolog, scripts, handlers and links elsewhere; keeps xmlns', () => {
    const svg = `<?xml version="1.0"?>\n<!DOCTYPE svg>\n<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><image href="https://example.com/a.png"/><a xlink:href='http://x'>t</a></svg>`;
    expect(inlineSvg(svg, 'p1')).toBe('<svg xmlns="http://www.w3.org/2000/svg"><image/><a>t</a></svg>');
  });

  it('prefixes ids and what points at them, so two plots on a page do not share a clip path', () => {
    const svg =
      '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/></g></svg>';
    expect(inlineSvg(svg, 'pf2')).toBe(
      '<svg><defs><clipPath id="pf2-clip1"><rect/></clipPath></defs><g clip-path="url(#pf2-clip1)"><use href="#pf2-clip1"/></g></svg>',
    );
  });

  it('is empty for text that is not an SVG', () => {
    expect(inlineSvg('<html></html>', 'p')).toBe('');
  });
});
