// HTML building blocks for the report: every piece of text goes through escapeHtml,
// and the page allows nothing from the network (see the Content-Security-Policy).

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Trusted markup, as opposed to a string to be escaped. */
export interface Html {
  html: string;
}

export const raw = (html: string): Html => ({ html });

const render = (c: string | Html) => (typeof c === 'string' ? escapeHtml(c) : c.html);

export interface TableOptions {
  /** Rows to highlight (e.g. the best trial). */
  marked?: ReadonlySet<number>;
  /** Columns to right-align (numbers). */
  numeric?: ReadonlySet<number>;
}

export function htmlTable(
  headers: readonly string[],
  rows: readonly (readonly (string | Html)[])[],
  options: TableOptions = {},
): string {
  const td = (c: string | Html, i: number, tag: 'td' | 'th') =>
    `<${tag}${options.numeric?.has(i) ? ' class="num"' : ''}>${render(c)}</${tag}>`;
  const head = `<tr>${headers.map((h, i) => td(h, i, 'th')).join('')}</tr>`;
  const body = rows.map(
    (r, n) => `<tr${options.marked?.has(n) ? ' class="marked"' : ''}>${r.map((c, i) => td(c, i, 'td')).join('')}</tr>`,
  );
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

/** A definition list of facts (`status: FINISHED`). */
export function facts(items: readonly [string, string | Html][]): string {
  return `<dl class="facts">${items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${render(v)}</dd>`).join('')}</dl>`;
}

export function section(title: string, ...body: string[]): string {
  return `<section>\n<h2>${escapeHtml(title)}</h2>\n${body.join('\n')}\n</section>`;
}

/** A plot (trusted, already inlined SVG markup) with a caption. */
export function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

export const note = (text: string) => `<p class="note">${escapeHtml(text)}</p>`;

export const pre = (text: string) => `<pre>${escapeHtml(text)}</pre>`;

const STYLE = `
body { font-family: DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h3 { font-size: 1rem; margin-top: 1.2rem; }
h2 { font-size: 1.15rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
.subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.marked td { background: #fff4d6; font-weight: bold; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; font-size: 0.9rem; }
dl.facts dt { color: #666; }
dl.facts dd { margin: 0; }
pre { background: #f7f7f7; padding: 0.6rem; font-size: 0.8rem; overflow-x: auto; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #666; font-size: 0.85rem; }
.note { color: #666; font-style: italic; }
code { font-size: 0.9em; }
`;

/** A whole page: nothing loads from elsewhere, and the policy forbids it should a plot try. */
export function htmlPage(title: string, subtitle: string, sections: readonly string[]): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="paramflow">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="subtitle">${escapeHtml(subtitle)}</p>
${sections.join('\n')}
</body>
</html>
`;
}
