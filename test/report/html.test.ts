import { describe, expect, it } from 'vitest';
import { escapeHtml, facts, htmlPage, htmlTable, raw, section } from '../../src/report/html.js';

describe('report HTML', () => {
  it('escapes every piece of text', () => {
    expect(escapeHtml(`<b a="1">'&'</b>`)).toBe('&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;');
    const page = htmlPage('<script>x</script>', 'a & b', [
      section('<i>', facts([['k<', 'v>']])),
      htmlTable(['h"'], [['<td>'], [raw('<em>ok</em>')]]),
    ]);
    expect(page).not.toContain('<script>');
    expect(page).toContain('<title>&lt;script&gt;x&lt;/script&gt;</title>');
    expect(page).toContain('a &amp; b');
    expect(page).toContain('<h2>&lt;i&gt;</h2>');
    expect(page).toContain('<dt>k&lt;</dt><dd>v&gt;</dd>');
    expect(page).toContain('<th>h&quot;</th>');
    expect(page).toContain('<td>&lt;td&gt;</td>');
    expect(page).toContain('<td><em>ok</em></td>');
  });

  it('forbids loading anything from elsewhere', () => {
    expect(htmlPage('t', 's', [])).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('marks rows and right-aligns numeric columns', () => {
    const t = htmlTable(
      ['a', 'n'],
      [
        ['x', '1'],
        ['y', '2'],
      ],
      { marked: new Set([1]), numeric: new Set([1]) },
    );
    expect(t).toContain('<tr><td>x</td><td class="num">1</td></tr>');
    expect(t).toContain('<tr class="marked"><td>y</td><td class="num">2</td></tr>');
  });
});
