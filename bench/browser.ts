/**
 * npm run bench:browser — the codec's speed in headless Chromium (Debian's
 * chromium, puppeteer-core), measured by the demo page's own code on
 * onnxruntime-web (WebAssembly), with the default model or --model DIR:
 *
 *   encode_rtf / decode_rtf      whole-file encode and decode of --seconds of
 *                                speech (the sample, repeated), × real time;
 *                                median of --repeats runs
 *   stream_*_ms_median / _p95    the streaming step graphs one 20 ms frame at a
 *                                time (encoder: a hop of PCM in, its token out;
 *                                decoder: a token in, its hop out)
 *   stream_headroom              20 ms over the median encode + decode of a frame
 *
 * --threads N sets the page's WebAssembly threads (default: every core).
 * Runs --passes page loads (a fresh page each) and reports the median of each
 * figure across them. The machine is shared: pause training before timing.
 * The last line is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startDemoServer } from '../src/cli/serve.js';
import type { BrowserBenchmarkFigures } from '../web/demo/figures.js';
import { launchChromium } from './chromium.js';
import { median } from './timing.js';

interface DemoGlobal {
  simvqDemo: { ready: Promise<void>; error: string | null; benchmark(seconds: number, repeats: number): Promise<BrowserBenchmarkFigures> };
}

interface Args {
  seconds: number;
  repeats: number;
  passes: number;
  /** WebAssembly threads (the page's ?threads=); default the page's choice. */
  threads?: number;
  model?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 30, repeats: 3, passes: 3 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--seconds') args.seconds = Number(value);
    else if (flag === '--repeats') args.repeats = Number(value);
    else if (flag === '--passes') args.passes = Number(value);
    else if (flag === '--model') args.model = value;
    else if (flag === '--threads') args.threads = Number(value);
    else throw new Error(`unknown flag ${flag} (--seconds, --repeats, --passes, --threads, --model)`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const server = await startDemoServer({ port: 0, comparisons: false, ...(args.model === undefined ? {} : { model: args.model }) });
const profile = mkdtempSync(join(tmpdir(), 'simvq-bench-chromium-'));
const browser = await launchChromium(profile);
const passes: BrowserBenchmarkFigures[] = [];
try {
  for (let pass = 0; pass < args.passes; pass++) {
    const page = await browser.newPage();
    await page.goto(args.threads === undefined ? server.url : `${server.url}?threads=${args.threads}`);
    await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.ready);
    const error = await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.error);
    if (error !== null) throw new Error(`the page could not start the codec: ${error}`);
    const figures = await page.evaluate((seconds, repeats) => (globalThis as unknown as DemoGlobal).simvqDemo.benchmark(seconds, repeats), args.seconds, args.repeats);
    passes.push(figures);
    await page.close();
    console.log(
      `pass ${pass + 1}: encode ${figures.encode_rtf.toFixed(1)}x, decode ${figures.decode_rtf.toFixed(1)}x real time; ` +
        `per 20 ms frame: encode ${figures.stream_encode_ms_median.toFixed(2)} ms (p95 ${figures.stream_encode_ms_p95.toFixed(2)}), ` +
        `decode ${figures.stream_decode_ms_median.toFixed(2)} ms (p95 ${figures.stream_decode_ms_p95.toFixed(2)})`,
    );
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}

const mid = (key: keyof BrowserBenchmarkFigures) => median(passes.map((p) => p[key] as number));
const frameMs = mid('stream_encode_ms_median') + mid('stream_decode_ms_median');
const first = passes[0]!;
console.log(
  JSON.stringify({
    browser: 'chromium (headless, Debian)',
    backend: first.backend,
    threads: args.threads ?? 'every core',
    cross_origin_isolated: first.cross_origin_isolated,
    hardware_concurrency: first.hardware_concurrency,
    audio_seconds: args.seconds,
    passes: args.passes,
    encode_rtf: mid('encode_rtf'),
    decode_rtf: mid('decode_rtf'),
    stream_encode_ms_median: mid('stream_encode_ms_median'),
    stream_encode_ms_p95: mid('stream_encode_ms_p95'),
    stream_decode_ms_median: mid('stream_decode_ms_median'),
    stream_decode_ms_p95: mid('stream_decode_ms_p95'),
    stream_frame_ms: frameMs,
    stream_headroom: 20 / frameMs,
  }),
);
