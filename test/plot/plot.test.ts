import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { renderChartPng, renderChartSvg, writeChartPng, type ChartSpec } from '../../src/plot/index.js';

const lineChart: ChartSpec = {
  width: 300,
  height: 200,
  data: { values: [{ K: 1024, utilization: 1 }, { K: 262144, utilization: 0.02 }] },
  mark: 'line',
  encoding: {
    x: { field: 'K', type: 'quantitative', scale: { type: 'log' } },
    y: { field: 'utilization', type: 'quantitative' },
  },
};

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('plot', () => {
  it('renders the axis titles of a Vega-Lite spec into the SVG', async () => {
    const svg = await renderChartSvg(lineChart);
    expect(svg).to.match(/^<svg/);
    expect(svg).to.contain('utilization');
  });

  it('writes a PNG scaled from the chart size', async () => {
    const png = await renderChartPng(lineChart, { scale: 2 });
    expect(Array.from(png.subarray(1, 4), (c) => String.fromCharCode(c)).join('')).to.equal('PNG');
    const { width, height } = pngSize(png);
    // The chart's plot area plus axes and titles, doubled.
    expect(width).to.be.greaterThan(600).and.lessThan(800);
    expect(height).to.be.greaterThan(400).and.lessThan(600);
  });

  it('writes a file only under a .png name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simvq-plot-'));
    try {
      const file = join(dir, 'chart.png');
      await writeChartPng(file, lineChart);
      expect((await readFile(file)).subarray(1, 4).toString()).to.equal('PNG');
      let message = '';
      await writeChartPng(join(dir, 'chart.jpg'), lineChart).catch((e: Error) => (message = e.message));
      expect(message).to.match(/chart\.jpg: a chart is written as \.png/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
