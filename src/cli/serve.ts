/**
 * `simvq-audio serve`: the demo page and what it loads, on localhost only.
 *
 *   /                     the page (dist/web/index.html), its script, its chunks and AudioWorklet
 *   /ort/<file>           onnxruntime-web's .wasm and .mjs files
 *   /model/<file>         the files a model directory's manifest lists
 *   /sample.wav           the package's speech sample
 *   /comparisons.json     the sample through Codec2 1200 and Opus 6k (Debian's tools), where they ran
 *   /comparisons/<id>.wav
 *
 * Nothing else is served: no directory listing, no path outside these. The
 * page is cross-origin isolated (COOP/COEP), which WebAssembly threads need.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';

import { encodeWav, readWav } from '../audio/index.js';
import { InputError } from '../errors.js';
import { packageRoot, pathExists } from '../files.js';
import { readModelDirectory } from '../runtime/model-dir.js';

export interface ServeOptions {
  /** 0 picks a free port. */
  port: number;
  /** A model directory or pretrained name (default: the default model). */
  model?: string;
  /** Precompute the Codec2 / Opus clips of the sample (default true; skipped where the tools are missing). */
  comparisons?: boolean;
  log?: (line: string) => void;
}

export interface DemoServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.f32': 'application/octet-stream',
  '.wav': 'audio/wav',
  '.png': 'image/png',
};

/** Where `npm run build` puts the page and its bundles. */
export function webBuildDirectory(): string {
  return join(packageRoot(), 'dist', 'web');
}

/** onnxruntime-web's dist/ folder, or why it is not there. */
function onnxRuntimeWebDirectory(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  } catch {
    throw new InputError('onnxruntime-web', 'is not installed; the page runs the codec on it: npm install onnxruntime-web');
  }
}

export async function startDemoServer(options: ServeOptions): Promise<DemoServer> {
  const log = options.log ?? (() => undefined);
  const page = webBuildDirectory();
  if (!(await pathExists(join(page, 'index.html')))) throw new InputError(page, 'holds no built page; run npm run build first');
  const ortDirectory = onnxRuntimeWebDirectory();
  const model = await readModelDirectory(options.model);
  const modelFiles = new Set([
    'model.json',
    model.manifest.config,
    ...Object.values(model.manifest.graphs),
    ...(model.manifest.codebook === undefined ? [] : [model.manifest.codebook]),
  ]);
  const samplePath = join(packageRoot(), 'samples', 'speech-16k.wav');
  const scratch = await mkdtemp(join(tmpdir(), 'simvq-serve-'));
  const comparisons = options.comparisons === false ? [] : await precomputeComparisons(samplePath, scratch, log);

  const routes = (path: string): string | null => {
    if (path === '/' || path === '/index.html') return join(page, 'index.html');
    if (/^\/(app|worklet)\.js$/.test(path) || /^\/chunks\/[\w-][\w.-]*\.js$/.test(path)) return join(page, path.slice(1));
    if (path === '/sample.wav') return samplePath;
    const ortFile = /^\/ort\/(ort-wasm[\w.-]*\.(?:wasm|mjs))$/.exec(path);
    if (ortFile !== null) return join(ortDirectory, ortFile[1]!);
    const modelFile = /^\/model\/([^/]+)$/.exec(path);
    if (modelFile !== null && modelFiles.has(modelFile[1]!)) return join(model.directory, modelFile[1]!);
    const comparison = /^\/comparisons\/([\w-]+)\.wav$/.exec(path);
    if (comparison !== null && comparisons.some((c) => c.id === comparison[1])) return join(scratch, `${comparison[1]}.wav`);
    return null;
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    response.setHeader('Cache-Control', 'no-cache');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/comparisons.json') {
      response.writeHead(200, { 'Content-Type': CONTENT_TYPES['.json']! }).end(JSON.stringify(comparisons));
      return;
    }
    const file = routes(path);
    if (file === null) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    stat(file).then(
      (info) => {
        response.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size });
        if (request.method === 'HEAD') response.end();
        else createReadStream(file).pipe(response);
      },
      () => response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new InputError(`--port ${options.port}`, 'is in use; pick another, or 0 for any free port') : error),
    );
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `http://127.0.0.1:${port}/`;
  log(`serving model ${model.manifest.modelId} (hash ${model.manifest.modelHash}) at ${url}`);
  return {
    url,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

export interface Comparison {
  id: string;
  label: string;
  bitrate: number;
  url: string;
}

/** The sample through Codec2 1200 and Opus 6k, as WAV files in `scratch`; a codec whose tool is missing is left out. */
async function precomputeComparisons(samplePath: string, scratch: string, log: (line: string) => void): Promise<Comparison[]> {
  const { codec2System, opusSystem } = await import('../eval/systems.js');
  const clip = await readWav(samplePath);
  const out: Comparison[] = [];
  for (const system of [codec2System('1200'), opusSystem(6)]) {
    const work = join(scratch, `work-${system.id}`);
    await mkdir(work);
    try {
      const trip = await system.roundTrip(clip.samples, clip.sampleRate, work);
      await writeFile(join(scratch, `${system.id}.wav`), encodeWav(trip.audio, trip.sampleRate, 'pcm16'));
      const bitrate = Math.round((trip.encodedBytes * 8) / (clip.samples.length / clip.sampleRate));
      out.push({ id: system.id, label: system.label, bitrate, url: `comparisons/${system.id}.wav` });
    } catch (error) {
      log(`no ${system.label} comparison: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return out;
}
