import type { TopLevelSpec } from 'vega-lite';
import { compactSvg } from '../plots/render.js';

// Vega-Lite → Vega → SVG, headless, as the evaluate stage renders its plots. The
// libraries load on first use so `compare` and every other command stay cheap.

interface Renderers {
  compile: typeof import('vega-lite').compile;
  vega: typeof import('vega');
}

let renderers: Promise<Renderers> | undefined;

function loadRenderers(): Promise<Renderers> {
  renderers ??= Promise.all([import('vega-lite'), import('vega')]).then(([vl, vega]) => ({
    compile: vl.compile,
    vega,
  }));
  return renderers;
}

/** The SVG of a Vega-Lite spec (no renderer, no network: data is inline in the spec). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const r = await loadRenderers();
  const view = new r.vega.View(r.vega.parse(r.compile(spec).spec), { renderer: 'none' });
  try {
    return compactSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}
