import type { TopLevelSpec } from 'vega-lite';
import type { FoldHistory } from '../model/history.js';
import { learningCurvesSpec, predVsTrueSpec, residualsSpec, type ScatterInput } from './evaluate.js';

// Renders the evaluate plots headless: Vega-Lite → Vega → SVG (vega's View.toSVG with
// no renderer), then SVG → PNG with resvg. The libraries load here, on first use, so
// importing the stage (and every `validate`) stays cheap.

interface Renderers {
  compile: typeof import('vega-lite').compile;
  vega: typeof import('vega');
  Resvg: typeof import('@resvg/resvg-js').Resvg;
}

/** The `plots` folder: `<name>.svg` and `<name>.png` per plot; learning curves only with a history. */
export async function renderPlots(
  scatter: ScatterInput,
  history: readonly FoldHistory[] | undefined,
  log: (message: string) => void,
): Promise<Record<string, Uint8Array>> {
  const r = await loadRenderers();
  const fonts = textRenders(r);
  if (!fonts)
    log(
      'evaluate: no fonts found on this machine: the PNG plots have no text (the SVG plots do); install a font package such as fonts-dejavu-core',
    );
  const specs: [string, TopLevelSpec][] = [
    ['pred-vs-true', predVsTrueSpec(scatter)],
    ['residuals', residualsSpec(scatter)],
  ];
  if (history && history.length > 0) specs.push(['learning-curves', learningCurvesSpec(history)]);
  const files: Record<string, Uint8Array> = {};
  for (const [name, spec] of specs) {
    const { svg, png } = renderChart(r, await toSvg(r, spec), fonts);
    files[`${name}.svg`] = Buffer.from(svg, 'utf8');
    files[`${name}.png`] = png;
  }
  return files;
}

/** One chart's SVG and PNG, cropped like the evaluate plots (for other figures: a sweep's objective plots). */
export async function renderFigure(spec: TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const r = await loadRenderers();
  return renderChart(r, await toSvg(r, spec), textRenders(r));
}

let renderers: Promise<Renderers> | undefined;

function loadRenderers(): Promise<Renderers> {
  renderers ??= Promise.all([import('vega-lite'), import('vega'), import('@resvg/resvg-js')]).then(
    ([vl, vega, resvg]) => ({
      compile: vl.compile,
      vega,
      Resvg: resvg.Resvg,
    }),
  );
  return renderers;
}

/** The SVG of a Vega-Lite spec, with coordinates rounded (see `compactSvg`). */
async function toSvg(r: Renderers, spec: TopLevelSpec): Promise<string> {
  const view = new r.vega.View(r.vega.parse(r.compile(spec).spec), { renderer: 'none' });
  try {
    return compactSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Rounds `translate(x,y)` to 0.1 px: vega writes 15 digits per coordinate, which is
 * most of the bytes of a scatter's SVG and invisible at any zoom a plot is read at.
 */
export function compactSvg(svg: string): string {
  return svg.replace(
    /translate\(([-\d.e]+),([-\d.e]+)\)/g,
    (_, x: string, y: string) => `translate(${round1(x)},${round1(y)})`,
  );
}

function round1(v: string): number {
  return Math.round(Number(v) * 10) / 10;
}

const SVG_HEAD =
  /^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)" viewBox="[^"]*"><rect width="[\d.]+" height="[\d.]+" fill="white"\/>/;
const MARGIN = 8;

/**
 * The SVG and its PNG, both cropped to what the chart draws plus a margin. Headless
 * vega sizes its canvas by a rough text-width estimate (0.8 em per character: it has no
 * canvas to measure with), which leaves wide blank margins after long titles; resvg
 * measures with real fonts. Without fonts it cannot, and cropping would cut the text.
 */
function renderChart(r: Renderers, svg: string, fonts: boolean): { svg: string; png: Uint8Array } {
  const head = fonts ? SVG_HEAD.exec(svg) : null;
  if (!head) return { svg, png: pngOf(new r.Resvg(svg, resvgOptions())) };
  const [all, attrs, width, height] = head;
  const body = svg.slice(all.length);
  // Measured without vega's white background rect (it would span the whole canvas); resvg paints it back.
  const resvg = new r.Resvg(
    `<svg${attrs} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${body}`,
    { ...resvgOptions(), background: 'white' },
  );
  const box = resvg.getBBox();
  if (!box) return { svg, png: pngOf(new r.Resvg(svg, resvgOptions())) };
  const x = Math.floor(box.x - MARGIN);
  const y = Math.floor(box.y - MARGIN);
  const w = Math.ceil(box.x + box.width + MARGIN) - x;
  const h = Math.ceil(box.y + box.height + MARGIN) - y;
  resvg.cropByBBox(Object.assign(box, { x, y, width: w, height: h }));
  const cropped = `<svg${attrs} width="${w}" height="${h}" viewBox="${x} ${y} ${w} ${h}"><rect x="${x}" y="${y}" width="${w}" height="${h}" fill="white"/>${body}`;
  return { svg: cropped, png: pngOf(resvg) };
}

function pngOf(resvg: InstanceType<Renderers['Resvg']>): Uint8Array {
  const png = resvg.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

// The system's fonts; a family the SVG names but the machine lacks falls back to
// resvg's default family (the first system font), as the sans-serif does.
function resvgOptions() {
  return { font: { loadSystemFonts: true }, fitTo: { mode: 'zoom' as const, value: 1.5 } };
}

let fontsFound: boolean | undefined;

/** Whether resvg draws any text here (false only on a machine with no fonts at all); probed once per process. */
function textRenders(r: Renderers): boolean {
  fontsFound ??= probeText(r);
  return fontsFound;
}

function probeText(r: Renderers): boolean {
  const probe =
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="2" y="15" font-size="14" font-family="sans-serif">Ag</text></svg>';
  const pixels = new r.Resvg(probe, resvgOptions()).render().pixels;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) return true;
  return false;
}
