/**
 * Log-mel spectrograms of several clips as one chart: evaluation reports and
 * training validation put an original beside what codecs made of it.
 */
import { logMelSpectrogram } from '../audio/index.js';
import { heatmapPng } from './heatmap.js';
import type { ChartSpec } from './index.js';

/**
 * Log-mel spectrograms stacked one panel per system, each a PNG heatmap (one
 * pixel per frame and band) placed by an `image` mark on real time/band axes.
 * All panels share one colour range: 80 dB down from the loudest cell of the original.
 */
export function spectrogramChart(panels: Array<{ id: string; label: string }>, clips: ReadonlyMap<string, Float32Array>, sampleRate: number): ChartSpec {
  const nMels = 80;
  const nFft = sampleRate >= 16_000 ? 1024 : 512;
  const spectra = panels.map(({ id, label }) => {
    const audio = clips.get(id)!;
    // About 400 frames across whatever the duration; at least a 64-sample hop.
    const hop = Math.max(64, Math.ceil(audio.length / 400));
    const spec = logMelSpectrogram(audio, { sampleRate, nFft, hopLength: hop, nMels, power: 2, logFloor: 1e-12 });
    const dB = spec.data.map((v) => (10 * v) / Math.LN10);
    return { label, dB, frames: spec.frames, seconds: audio.length / sampleRate };
  });
  const ceiling = spectra[0].dB.reduce((a, b) => Math.max(a, b), -Infinity);
  const values = spectra.map(({ label, dB, frames, seconds }) => ({
    panel: label,
    url: `data:image/png;base64,${Buffer.from(heatmapPng(dB, frames, nMels, ceiling - 80, ceiling)).toString('base64')}`,
    t0: 0,
    t1: seconds,
    m0: 0,
    m1: nMels,
  }));
  return {
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: panels.map((p) => p.label) } },
    spec: {
      width: 640,
      height: 140,
      mark: { type: 'image', aspect: false },
      encoding: {
        x: { field: 't0', type: 'quantitative', scale: { nice: false }, title: 'time, s' },
        x2: { field: 't1' },
        y: { field: 'm1', type: 'quantitative', scale: { nice: false }, title: `mel band (of ${nMels})` },
        y2: { field: 'm0' },
        url: { field: 'url', type: 'nominal' },
      },
    },
  } as ChartSpec;
}

