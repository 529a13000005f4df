import type { Config } from 'vega-lite';

// The look every paramflow plot shares: the evaluate stage's, a report's, a sweep's.

/**
 * Generic families last: a viewer, or resvg with whatever fonts the machine has,
 * falls through the list to a font it has.
 */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif';

/** The look every paramflow plot shares (the report's too). */
export const PLOT_CONFIG: Config = {
  font: FONT_FAMILY,
  background: 'white',
  // No ARIA labels per mark: they would triple the size of an SVG of thousands of points.
  aria: false,
  title: { fontSize: 15, anchor: 'start', subtitleFontSize: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
};
