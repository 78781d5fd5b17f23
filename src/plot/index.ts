/**
 * Charts as PNG files, for experiment reports and model cards.
 *
 * A chart is a Vega-Lite spec (https://vega.github.io/vega-lite/): vega-lite
 * compiles it to Vega, Vega renders SVG headless (no canvas, no browser), and
 * resvg rasterises the SVG. All three install from npm alone, so plots work on
 * a fresh machine with no native build and no network.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import { InputError } from '../errors.js';
import { writeFileAtomic } from '../files.js';

export type ChartSpec = TopLevelSpec;

export interface ChartPngOptions {
  /** Pixels per SVG unit; 2 gives crisp text in documents. Default 2. */
  scale?: number;
  /** Replace an existing file. Default true: reports are regenerated in place. */
  force?: boolean;
}

/** Renders a Vega-Lite spec to SVG text. */
export async function renderChartSvg(spec: ChartSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to PNG bytes. */
export async function renderChartPng(spec: ChartSpec, options: ChartPngOptions = {}): Promise<Uint8Array> {
  const svg = await renderChartSvg(spec);
  const scale = options.scale ?? 2;
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white' }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Renders a Vega-Lite spec and writes it atomically as a PNG file. */
export async function writeChartPng(path: string, spec: ChartSpec, options: ChartPngOptions = {}): Promise<void> {
  if (!path.toLowerCase().endsWith('.png')) throw new InputError(path, 'a chart is written as .png');
  await writeFileAtomic(path, await renderChartPng(spec, options), options.force ?? true);
}
