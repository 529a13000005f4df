// An SVG file's markup made fit to sit inside an HTML page beside other SVGs.

/**
 * Drops the XML prolog, doctype and comments, any script, event handler or link to
 * elsewhere (a page must not load or run anything), and prefixes every id (and the
 * `url(#…)`/`href="#…"` that point at it): ids are page-wide in HTML, and two vega plots
 * both defining `clip1` would clip each other.
 */
export function inlineSvg(svg: string, prefix: string): string {
  const start = svg.indexOf('<svg');
  if (start < 0) return '';
  return svg
    .slice(start)
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<script[\s\S]*?<\/script\s*>/gi, '')
    .replace(/<script[^>]*\/>/gi, '')
    .replace(/\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*')/gi, '')
    .replace(/\s+(xlink:)?href\s*=\s*("(?!#)[^"]*"|'(?!#)[^']*')/gi, '')
    .replace(/\sid="([^"]+)"/g, (_, id: string) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/(\s(?:xlink:)?href=")#([^"]+)"/g, (_, attr: string, id: string) => `${attr}#${prefix}-${id}"`)
    .trim();
}
