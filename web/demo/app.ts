/**
 * The demo page: the codec on onnxruntime-web, fed by the microphone or a WAV file.
 *
 *   microphone ─ AudioWorklet 'simvq-capture' ─┐
 *   WAV file ──────────────── 20 ms frames ────┴─▶ FrameEncoder ─ tokens ─▶ FrameDecoder ─▶ 'simvq-playback' ─▶ speakers
 *   WAV file ─▶ WebCodec.encode / decode (whole file: the .svq and WAV downloads, the speeds)
 *
 * `window.simvqDemo` lets a test or a benchmark drive the page's own code
 * paths (test/web/browser.test.ts, bench/browser.ts).
 */
import { WebCodec, bitsPerCode, encodeSvq, hasWebGpu, type CodecTokens, type FrameDecoder, type FrameEncoder } from '../../src/web/index.js';

import type { BrowserBenchmarkFigures } from './figures.js';

interface FileResult {
  name: string;
  tokens: number[];
  decoded: number[];
  streamedTokens: number[];
  streamed: number[];
  encodeSeconds: number;
  decodeSeconds: number;
  frameMilliseconds: { median: number; p95: number };
}

declare global {
  interface Window {
    simvqDemo: {
      ready: Promise<void>;
      result: FileResult | null;
      error: string | null;
      benchmark(seconds: number, repeats: number): Promise<BrowserBenchmarkFigures>;
    };
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
};

let codec: WebCodec;
let audioContext: AudioContext | null = null;
let playback: AudioWorkletNode | null = null;

function setStatus(text: string): void {
  $('status').textContent = text;
}

function notice(text: string): void {
  const item = document.createElement('li');
  item.textContent = text;
  $('notices').append(item);
}

/** What this browser lacks, said plainly; returns false when the codec cannot run at all. */
function checkBrowser(): boolean {
  let usable = true;
  if (typeof WebAssembly !== 'object') {
    notice('This browser has no WebAssembly: the codec cannot run here. Use a current Chrome, Edge, Firefox or Safari.');
    usable = false;
  }
  if (typeof AudioWorkletNode === 'undefined') notice('This browser has no AudioWorklet: files still encode and decode, but nothing plays live and the microphone is off.');
  if (navigator.mediaDevices?.getUserMedia === undefined) notice('No microphone access here (it needs a secure page: localhost or https). Drop a WAV file instead.');
  if (!crossOriginIsolated) notice('The page is not cross-origin isolated, so WebAssembly runs on one thread (slower). simvq-audio serve sets the headers that allow threads.');
  return usable;
}

/** WebAssembly threads: ?threads=N, else every core (onnxruntime-web would take half); one where the page is not isolated. */
function pageThreads(): number {
  if (!crossOriginIsolated) return 1;
  const asked = Number(new URLSearchParams(location.search).get('threads'));
  return Number.isInteger(asked) && asked >= 1 ? asked : Math.min(4, navigator.hardwareConcurrency || 1);
}

async function main(): Promise<void> {
  if (!checkBrowser()) {
    setStatus('This browser cannot run the codec.');
    return;
  }
  const webgpu = new URLSearchParams(location.search).get('webgpu');
  codec = await WebCodec.load('model/', {
    wasmPaths: new URL('ort/', location.href).href,
    webgpu: webgpu === '1' ? true : webgpu === 'auto' ? 'auto' : false,
    threads: pageThreads(),
  });
  if (webgpu === 'auto' && !hasWebGpu()) notice('No WebGPU in this browser: running on WebAssembly.');
  $('model').textContent = `model ${codec.modelId} (${codec.modelHash}), ${codec.frameRate} tokens/s from ${codec.codebookSize.toLocaleString('en')} codes`;
  $('backend').textContent = codec.backend === 'webgpu' ? 'WebGPU' : `WebAssembly, ${pageThreads()} thread(s)`;
  for (const id of ['record', 'sample', 'file']) $<HTMLButtonElement | HTMLInputElement>(id).disabled = typeof AudioWorkletNode === 'undefined' && id === 'record';
  setStatus('Ready.');
  wireControls();
}

function wireControls(): void {
  $('sample').addEventListener('click', () => void runFile(fetch('sample.wav').then((r) => r.arrayBuffer()), 'sample.wav'));
  $<HTMLInputElement>('file').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file !== undefined) void runFile(file.arrayBuffer(), file.name);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file !== undefined) void runFile(file.arrayBuffer(), file.name);
  });
  $('record').addEventListener('click', () => void record());
}

/** The page's AudioContext at the codec's rate with both worklets loaded, or null where audio cannot start. */
async function audio(): Promise<AudioContext | null> {
  if (audioContext !== null) return audioContext;
  if (typeof AudioWorkletNode === 'undefined') return null;
  try {
    const context = new AudioContext({ sampleRate: codec.sampleRate });
    await context.audioWorklet.addModule('worklet.js');
    playback = new AudioWorkletNode(context, 'simvq-playback');
    playback.connect(context.destination);
    audioContext = context;
    return context;
  } catch (error) {
    notice(`Audio output could not start (${String(error)}): results show, but nothing plays.`);
    return null;
  }
}

function play(samples: Float32Array): void {
  playback?.port.postMessage(samples);
}

// ---- files -------------------------------------------------------------------

/**
 * WAV bytes → mono samples at the codec's rate. 16-bit and float PCM already at
 * that rate are read exactly as Node reads them (so tokens match Node's); other
 * files go through the browser's decoder and resampler.
 */
async function samplesOf(bytes: ArrayBuffer, name: string): Promise<Float32Array> {
  const exact = readPcmWav(new DataView(bytes));
  if (exact !== null && exact.sampleRate === codec.sampleRate) return exact.samples;
  const context = new OfflineAudioContext(1, 1, codec.sampleRate);
  let buffer: AudioBuffer;
  try {
    buffer = await context.decodeAudioData(bytes.slice(0));
  } catch {
    throw new Error(`${name}: not an audio file this browser can decode`);
  }
  const frames = Math.ceil((buffer.length * codec.sampleRate) / buffer.sampleRate);
  const offline = new OfflineAudioContext(1, frames, codec.sampleRate);
  const source = offline.createBufferSource();
  source.buffer = buffer;
  source.connect(offline.destination);
  source.start();
  return (await offline.startRendering()).getChannelData(0);
}

/** A mono or multichannel PCM WAV (16-bit integer or 32-bit float), channels averaged; null for anything else. */
function readPcmWav(view: DataView): { samples: Float32Array; sampleRate: number } | null {
  const tag = (at: number) => String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
  if (view.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return null;
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  for (let at = 12; at + 8 <= view.byteLength; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true);
    } else if (id === 'data') {
      const integer = format === 1 && bits === 16;
      const float = format === 3 && bits === 32;
      if (!(integer || float) || channels < 1) return null;
      const width = bits / 8;
      const frames = Math.floor(Math.min(size, view.byteLength - body) / (width * channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          const offset = body + (i * channels + c) * width;
          sum += integer ? view.getInt16(offset, true) / 32768 : view.getFloat32(offset, true);
        }
        samples[i] = sum / channels;
      }
      return { samples, sampleRate };
    }
    at = body + size + (size & 1);
  }
  return null;
}

async function runFile(bytes: Promise<ArrayBuffer>, name: string): Promise<void> {
  try {
    setStatus(`Reading ${name}…`);
    const samples = await samplesOf(await bytes, name);
    if (samples.length === 0) throw new Error(`${name}: holds no audio`);
    window.simvqDemo.result = await processFile(samples, name);
    window.simvqDemo.error = null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    window.simvqDemo.error = message;
    setStatus(message);
  }
}

async function processFile(samples: Float32Array, name: string): Promise<FileResult> {
  const seconds = samples.length / codec.sampleRate;
  setStatus(`Streaming ${name} through the codec, 20 ms a frame…`);
  await audio();
  resetTokens();
  // Live: frame by frame through the step graphs, each decoded frame played as it is made.
  const encoder = await codec.createFrameEncoder({ maxFramesPerStep: 1 });
  const decoder = await codec.createFrameDecoder({ maxFramesPerStep: 1 });
  const streamedTokens: number[] = [];
  const streamed = new Float32Array(Math.ceil(samples.length / codec.hop) * codec.hop);
  const frameTimes: number[] = [];
  let at = 0;
  const emit = (tokens: Uint32Array, audioOut: Float32Array) => {
    streamed.set(audioOut, at);
    at += audioOut.length;
    play(audioOut);
    streamedTokens.push(...tokens);
    showTokens(tokens);
  };
  for (let start = 0; start < samples.length; start += codec.hop) {
    const began = performance.now();
    const tokens = await encoder.push(samples.slice(start, Math.min(samples.length, start + codec.hop)));
    const audioOut = await decoder.push(tokens);
    // The codec's time only: the page's own drawing and playback are not counted.
    frameTimes.push(performance.now() - began);
    emit(tokens, audioOut);
  }
  const last = await encoder.flush();
  emit(last, await decoder.push(last));

  setStatus(`Encoding and decoding ${name} whole…`);
  // Open the whole-file graphs first, so the speeds shown are the codec's, not the first load's.
  await codec.decode(await codec.encode(new Float32Array(codec.hop)));
  let began = performance.now();
  const tokens = await codec.encode(samples, { source: name });
  const encodeSeconds = (performance.now() - began) / 1000;
  began = performance.now();
  const decoded = await codec.decode(tokens, { source: name });
  const decodeSeconds = (performance.now() - began) / 1000;

  const svq = encodeSvq(tokens);
  $('bitrate').textContent = `${codeBitrate()} bit/s`;
  $('file-size').textContent = `${svq.length} bytes`;
  $('frames').textContent = `${tokens.codes.length}`;
  $('encode-speed').textContent = `${(seconds / encodeSeconds).toFixed(0)}×`;
  $('decode-speed').textContent = `${(seconds / decodeSeconds).toFixed(0)}×`;
  const frameMilliseconds = { median: percentile(frameTimes, 0.5), p95: percentile(frameTimes, 0.95) };
  $('frame-time').textContent = `${frameMilliseconds.median.toFixed(2)} ms`;
  drawSpectrogram($('spectrogram-in'), samples, codec.sampleRate);
  drawSpectrogram($('spectrogram-out'), decoded, codec.sampleRate);
  offerDownloads(tokens, samples, decoded, name);
  setStatus(`${name}: ${seconds.toFixed(2)} s of speech → ${tokens.codes.length} tokens → ${svq.length} bytes.`);
  return {
    name,
    tokens: Array.from(tokens.codes),
    decoded: Array.from(decoded),
    streamedTokens,
    streamed: Array.from(streamed.subarray(0, samples.length)),
    encodeSeconds,
    decodeSeconds,
    frameMilliseconds,
  };
}

function offerDownloads(tokens: CodecTokens, input: Float32Array, decoded: Float32Array, name: string): void {
  const stem = name.replace(/\.[^.]*$/, '');
  const url = (bytes: Uint8Array, type: string) => URL.createObjectURL(new Blob([bytes.slice()], { type }));
  const svqLink = $<HTMLAnchorElement>('download-svq');
  svqLink.href = url(encodeSvq(tokens), 'application/octet-stream');
  svqLink.download = `${stem}.svq`;
  const wavLink = $<HTMLAnchorElement>('download-wav');
  wavLink.href = url(pcm16Wav(decoded, codec.sampleRate), 'audio/wav');
  wavLink.download = `${stem}-0.9kbps.wav`;
  $<HTMLAudioElement>('audio-in').src = url(pcm16Wav(input, codec.sampleRate), 'audio/wav');
  $<HTMLAudioElement>('audio-out').src = wavLink.href;
  $('outputs').hidden = false;
}

// ---- microphone --------------------------------------------------------------

async function record(): Promise<void> {
  const context = await audio();
  if (context === null) return;
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  } catch (error) {
    setStatus(`The microphone could not be opened (${error instanceof Error ? error.message : String(error)}).`);
    return;
  }
  await context.resume();
  const encoder: FrameEncoder = await codec.createFrameEncoder({ maxFramesPerStep: 1 });
  const decoder: FrameDecoder = await codec.createFrameDecoder({ maxFramesPerStep: 1 });
  const source = context.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(context, 'simvq-capture');
  source.connect(capture);
  const input: Float32Array[] = [];
  const output: Float32Array[] = [];
  const frameTimes: number[] = [];
  let queue = Promise.resolve();
  resetTokens();
  capture.port.onmessage = (event: MessageEvent<Float32Array>) => {
    const block = event.data;
    input.push(block);
    // Blocks are encoded in arrival order; a token leaves as soon as its 20 ms frame is complete.
    queue = queue.then(async () => {
      const began = performance.now();
      const tokens = await encoder.push(block);
      if (tokens.length === 0) return;
      const decoded = await decoder.push(tokens);
      frameTimes.push((performance.now() - began) / tokens.length);
      output.push(decoded);
      play(decoded);
      showTokens(tokens);
      $('frames').textContent = `${decoder.tokensIn}`;
      $('bitrate').textContent = `${codeBitrate()} bit/s`;
      $('frame-time').textContent = `${percentile(frameTimes, 0.5).toFixed(2)} ms`;
    });
  };
  setStatus('Recording: speak, and hear yourself at 0.9 kbit/s.');
  $<HTMLButtonElement>('record').disabled = true;
  const stop = $<HTMLButtonElement>('stop');
  stop.disabled = false;
  stop.onclick = async () => {
    stop.disabled = true;
    $<HTMLButtonElement>('record').disabled = false;
    for (const track of stream.getTracks()) track.stop();
    source.disconnect();
    capture.disconnect();
    await queue;
    const inputAll = concat(input);
    const outputAll = concat(output);
    drawSpectrogram($('spectrogram-in'), inputAll, codec.sampleRate);
    drawSpectrogram($('spectrogram-out'), outputAll, codec.sampleRate);
    if (inputAll.length > 0) offerDownloads(await codec.encode(inputAll, { source: 'microphone' }), inputAll, outputAll, 'microphone.wav');
    setStatus(`Recorded ${(inputAll.length / codec.sampleRate).toFixed(1)} s.`);
  };
}

// ---- display -----------------------------------------------------------------

function resetTokens(): void {
  $('tokens').textContent = '';
}

function showTokens(tokens: Uint32Array): void {
  if (tokens.length === 0) return;
  const box = $('tokens');
  box.append(`${Array.from(tokens).join(' ')} `);
  box.scrollTop = box.scrollHeight;
}

/** Log-magnitude spectrogram (512-point FFT, 10 ms hop, Hann window), -90 to -10 dB over a dark-to-bright scale. */
function drawSpectrogram(canvas: HTMLCanvasElement, samples: Float32Array, sampleRate: number): void {
  const size = 512;
  const hop = Math.round(sampleRate / 100);
  const frames = Math.max(1, Math.floor((samples.length - size) / hop) + 1);
  const bins = size / 2;
  canvas.width = frames;
  canvas.height = bins;
  const context = canvas.getContext('2d');
  if (context === null) return;
  const image = context.createImageData(frames, bins);
  const window = Float32Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  const re = new Float32Array(size);
  const im = new Float32Array(size);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < size; i++) {
      re[i] = (samples[f * hop + i] ?? 0) * window[i]!;
      im[i] = 0;
    }
    fft(re, im);
    for (let b = 0; b < bins; b++) {
      const power = (re[b]! ** 2 + im[b]! ** 2) / (size * size);
      const level = Math.min(1, Math.max(0, (10 * Math.log10(power + 1e-12) + 90) / 80));
      const pixel = ((bins - 1 - b) * frames + f) * 4;
      // Dark blue → magenta → yellow.
      image.data[pixel] = Math.round(255 * Math.min(1, level * 1.6));
      image.data[pixel + 1] = Math.round(255 * Math.max(0, level * 1.6 - 0.6));
      image.data[pixel + 2] = Math.round(255 * (0.35 + 0.5 * Math.sin(Math.PI * level)) * (1 - level * 0.6));
      image.data[pixel + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

/** In-place radix-2 FFT (length a power of two). */
function fft(re: Float32Array, im: Float32Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let length = 2; length <= n; length <<= 1) {
    const angle = (-2 * Math.PI) / length;
    for (let start = 0; start < n; start += length) {
      for (let k = 0; k < length / 2; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = start + k;
        const b = a + length / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

async function showComparisons(): Promise<void> {
  const response = await fetch('comparisons.json');
  if (!response.ok) return;
  const clips = (await response.json()) as { id: string; label: string; bitrate: number; url: string }[];
  for (const clip of clips) {
    const cell = document.createElement('div');
    cell.textContent = `${clip.label} (${clip.bitrate} bit/s measured) `;
    const player = document.createElement('audio');
    player.controls = true;
    player.src = clip.url;
    cell.append(player);
    $('comparison-clips').append(cell);
  }
  $('comparisons').hidden = clips.length === 0;
}

// ---- helpers -----------------------------------------------------------------

/** Bits a second the codes take: ceil(log2 K) bits per token, frameRate tokens a second. */
function codeBitrate(): number {
  return bitsPerCode(codec.codebookSize) * codec.frameRate;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function pcm16Wav(samples: Float32Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(out.buffer);
  const text = (at: number, value: string) => [...value].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(32767 / 32768, samples[i]!)) * 32768), true);
  return out;
}

/**
 * Speeds for bench:browser: whole-file encode and decode of `seconds` of the
 * sample (repeated), the median of `repeats` runs; then the streaming graphs
 * one 20 ms frame at a time.
 */
async function benchmark(seconds: number, repeats: number): Promise<BrowserBenchmarkFigures> {
  const sample = readPcmWav(new DataView(await (await fetch('sample.wav')).arrayBuffer()));
  if (sample === null) throw new Error('sample.wav is not a PCM WAV');
  const samples = new Float32Array(Math.round(seconds * codec.sampleRate));
  for (let at = 0; at < samples.length; at += sample.samples.length) samples.set(sample.samples.subarray(0, Math.min(sample.samples.length, samples.length - at)), at);
  const encodeTimes: number[] = [];
  const decodeTimes: number[] = [];
  let tokens: CodecTokens | null = null;
  for (let r = 0; r < repeats; r++) {
    let began = performance.now();
    tokens = await codec.encode(samples);
    encodeTimes.push((performance.now() - began) / 1000);
    began = performance.now();
    await codec.decode(tokens);
    decodeTimes.push((performance.now() - began) / 1000);
  }
  const encoder = await codec.createFrameEncoder({ maxFramesPerStep: 1 });
  const decoder = await codec.createFrameDecoder({ maxFramesPerStep: 1 });
  const encodeFrame: number[] = [];
  const decodeFrame: number[] = [];
  const frames = Math.min(tokens!.codes.length, 500);
  for (let f = 0; f < frames; f++) {
    let began = performance.now();
    const frameTokens = await encoder.push(samples.subarray(f * codec.hop, (f + 1) * codec.hop));
    encodeFrame.push(performance.now() - began);
    began = performance.now();
    await decoder.push(frameTokens);
    decodeFrame.push(performance.now() - began);
  }
  // The first frames warm the sessions up; a live stream pays that once.
  const steady = (times: number[]) => times.slice(Math.min(10, times.length - 1));
  return {
    audio_seconds: seconds,
    encode_rtf: seconds / percentile(encodeTimes, 0.5),
    decode_rtf: seconds / percentile(decodeTimes, 0.5),
    stream_frames: frames,
    stream_encode_ms_median: percentile(steady(encodeFrame), 0.5),
    stream_encode_ms_p95: percentile(steady(encodeFrame), 0.95),
    stream_decode_ms_median: percentile(steady(decodeFrame), 0.5),
    stream_decode_ms_p95: percentile(steady(decodeFrame), 0.95),
    backend: codec.backend,
    cross_origin_isolated: crossOriginIsolated,
    hardware_concurrency: navigator.hardwareConcurrency,
  };
}

window.simvqDemo = {
  ready: Promise.resolve(),
  result: null,
  error: null,
  benchmark,
};
window.simvqDemo.ready = main().then(
  () => showComparisons(),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    window.simvqDemo.error = message;
    setStatus(`The codec could not start: ${message}`);
  },
);
