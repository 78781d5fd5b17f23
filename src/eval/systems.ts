/**
 * The systems an evaluation compares: our tokenizer models and the classic
 * speech codecs they should beat, all behind one round-trip interface so every
 * system is scored by exactly the same code.
 *
 * Baselines run Debian's command-line tools (packages `codec2` and
 * `opus-tools`) on files in a scratch directory: the encoded file they write is
 * what the bitrate is measured from, and encode/decode speed is the wall time of
 * each tool's process (process start included, which flatters nobody).
 */
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { decodeWav, encodeWav, resample } from '../audio/index.js';
import { InputError } from '../errors.js';
import { errorCode } from '../files.js';
import { bitsPerCode, decodeSvq, encodeSvq } from '../tokens/svq.js';

const execFileAsync = promisify(execFile);

/** One utterance through a system: encoded to a file, decoded back. */
export interface RoundTrip {
  /** Decoded audio, at `sampleRate` (the runner resamples it to the reference's rate). */
  audio: Float32Array;
  sampleRate: number;
  /** Size of the encoded file as written: the measured bitrate is its bits over the duration. */
  encodedBytes: number;
  encodeSeconds: number;
  decodeSeconds: number;
  /** The token ids, for tokenizers (code usage); absent for classic codecs. */
  tokens?: ArrayLike<number>;
}

export interface EvalSystem {
  /** Stable and file-name safe: cache entries are keyed by it ('codec2-1200', 'opus-6k'). */
  readonly id: string;
  /** For tables and plots ('Codec2 1200'). */
  readonly label: string;
  readonly kind: 'model' | 'baseline';
  /** The advertised bitrate in bit/s, where the system has one. */
  readonly nominalBitrate: number | null;
  /** Codebook size of a tokenizer; null for classic codecs. */
  readonly codebookSize: number | null;
  /** `workDir` is an empty scratch directory this call may fill. */
  roundTrip(samples: Float32Array, sampleRate: number, workDir: string): Promise<RoundTrip>;
  /** Frees what the system holds; called once after the run. */
  close?(): Promise<void>;
}

/**
 * The little a tokenizer must offer to be evaluated. The codec runtime's
 * `Codec` (encode/decode with its .svq token files) is meant to satisfy it
 * directly or through a thin adapter.
 */
export interface TokenizerCodec {
  readonly id: string;
  readonly label: string;
  readonly sampleRate: number;
  readonly codebookSize: number;
  /** Token ids of one utterance and the bytes of its token file as the codec writes it. */
  encode(samples: Float32Array): Promise<{ tokens: ArrayLike<number>; file: Uint8Array }>;
  /** Audio back from a token file's bytes, so the round trip goes through what is stored. */
  decode(file: Uint8Array): Promise<Float32Array>;
  /** Frames per second times bits per token, when the codec has a fixed rate. */
  readonly nominalBitrate?: number;
  /** Frees what the codec holds (sessions), once the run is over. */
  close?(): Promise<void>;
}

/** A tokenizer as an evaluation system: its token file goes to disk and is decoded from there. */
export function tokenizerSystem(codec: TokenizerCodec): EvalSystem {
  return {
    id: codec.id,
    label: codec.label,
    kind: 'model',
    nominalBitrate: codec.nominalBitrate ?? null,
    codebookSize: codec.codebookSize,
    ...(codec.close === undefined ? {} : { close: () => codec.close!() }),
    async roundTrip(samples, sampleRate, workDir) {
      const input = sampleRate === codec.sampleRate ? samples : await resample(samples, sampleRate, codec.sampleRate);
      const encodeStart = performance.now();
      const { tokens, file } = await codec.encode(input);
      const tokenPath = join(workDir, 'tokens.svq');
      await writeFile(tokenPath, file);
      const encodeSeconds = (performance.now() - encodeStart) / 1000;
      const decodeStart = performance.now();
      const audio = await codec.decode(await readFile(tokenPath));
      const decodeSeconds = (performance.now() - decodeStart) / 1000;
      // The bitrate is the written file's size on disk, not what the codec says it wrote.
      const encodedBytes = (await stat(tokenPath)).size;
      return { audio, sampleRate: codec.sampleRate, encodedBytes, encodeSeconds, decodeSeconds, tokens };
    },
  };
}

/**
 * Our own models, each a model directory or a name under codec/pretrained/,
 * loaded with the runtime's `Codec` (onnxruntime, or tfjs without it). Token
 * files are .svq as `encode` writes them, so the measured bitrate includes
 * the header. With no names: the default model when one is installed, else
 * none (the report then covers the baselines and says so).
 */
export async function loadModelSystems(models: readonly string[]): Promise<EvalSystem[]> {
  const { Codec } = await import('../runtime/codec.js');
  const { DEFAULT_MODEL_NAME, resolveModelDirectory } = await import('../runtime/model-dir.js');
  let names = [...models];
  if (names.length === 0) {
    const installed = await resolveModelDirectory(DEFAULT_MODEL_NAME).then(
      () => true,
      () => false,
    );
    if (!installed) return [];
    names = [DEFAULT_MODEL_NAME];
  }
  const systems: EvalSystem[] = [];
  for (const name of names) {
    const codec = await Codec.load(name);
    const id = `model-${codec.modelId.replace(/[^A-Za-z0-9._-]/g, '_')}-${codec.modelHash.slice(0, 8)}`;
    const system = tokenizerSystem({
      id,
      label: `${codec.modelId} (${codec.modelHash.slice(0, 8)})`,
      sampleRate: codec.sampleRate,
      codebookSize: codec.codebookSize,
      nominalBitrate: codec.frameRate * bitsPerCode(codec.codebookSize),
      async encode(samples) {
        const tokens = await codec.encode(samples, codec.sampleRate);
        return { tokens: tokens.codes, file: encodeSvq(tokens) };
      },
      async decode(file) {
        return codec.decode(decodeSvq(file, `${id} tokens.svq`));
      },
      close: () => codec.dispose(),
    });
    systems.push(system);
  }
  return systems;
}

/** Runs a tool, timing it; a missing tool is bad input naming the Debian package that provides it. */
async function runTool(tool: string, args: string[], debianPackage: string): Promise<number> {
  const start = performance.now();
  try {
    await execFileAsync(tool, args, { maxBuffer: 16 << 20 });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new InputError(tool, `not found on PATH; install it (Debian: apt-get install ${debianPackage}) or leave this baseline out`);
    }
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr).trim() : '';
    throw new Error(`${tool} ${args.join(' ')} failed: ${stderr.split('\n')[0] || String(error)}`);
  }
  return (performance.now() - start) / 1000;
}

export const CODEC2_MODES = ['700C', '1200', '3200'] as const;
export type Codec2Mode = (typeof CODEC2_MODES)[number];

/** Codec2 works on 8 kHz 16-bit raw audio; its mode name is its nominal bitrate (700C: 700 bit/s). */
export function codec2System(mode: Codec2Mode): EvalSystem {
  const rate = 8000;
  return {
    id: `codec2-${mode}`,
    label: `Codec2 ${mode}`,
    kind: 'baseline',
    nominalBitrate: Number.parseInt(mode, 10),
    codebookSize: null,
    async roundTrip(samples, sampleRate, workDir) {
      const input = sampleRate === rate ? samples : await resample(samples, sampleRate, rate);
      const pcm = new Int16Array(input.length);
      for (let i = 0; i < input.length; i++) pcm[i] = Math.round(Math.max(-32768, Math.min(32767, input[i] * 32768)));
      const [rawIn, bits, rawOut] = ['in.raw', 'encoded.c2bits', 'out.raw'].map((name) => join(workDir, name));
      await writeFile(rawIn, new Uint8Array(pcm.buffer));
      const encodeSeconds = await runTool('c2enc', [mode, rawIn, bits], 'codec2');
      const decodeSeconds = await runTool('c2dec', [mode, bits, rawOut], 'codec2');
      const encodedBytes = (await readFile(bits)).byteLength;
      const decodedBytes = await readFile(rawOut);
      const decoded = new Int16Array(decodedBytes.buffer, decodedBytes.byteOffset, decodedBytes.byteLength >> 1);
      const audio = Float32Array.from(decoded, (v) => v / 32768);
      return { audio, sampleRate: rate, encodedBytes, encodeSeconds, decodeSeconds };
    },
  };
}

export const OPUS_BITRATES_KBPS = [6, 9, 12] as const;

/** Rates opusdec can write directly; anything else is decoded at 48 kHz and resampled. */
const OPUS_OUTPUT_RATES = new Set([8000, 12000, 16000, 24000, 48000]);

/**
 * Opus through opus-tools: opusenc on a 16-bit WAV at the utterance's own rate
 * (it resamples internally), VBR at the target bitrate, no metadata padding so
 * the Ogg file holds little beyond the packets; opusdec back to the same rate.
 */
export function opusSystem(kbps: number): EvalSystem {
  return {
    id: `opus-${kbps}k`,
    label: `Opus ${kbps} kbit/s`,
    kind: 'baseline',
    nominalBitrate: kbps * 1000,
    codebookSize: null,
    async roundTrip(samples, sampleRate, workDir) {
      const [wavIn, encoded, wavOut] = ['in.wav', 'encoded.opus', 'out.wav'].map((name) => join(workDir, name));
      await writeFile(wavIn, encodeWav(samples, sampleRate, 'pcm16'));
      const encodeSeconds = await runTool('opusenc', ['--quiet', '--bitrate', String(kbps), '--padding', '0', wavIn, encoded], 'opus-tools');
      const outRate = OPUS_OUTPUT_RATES.has(sampleRate) ? sampleRate : 48000;
      const decodeSeconds = await runTool('opusdec', ['--quiet', '--rate', String(outRate), encoded, wavOut], 'opus-tools');
      const encodedBytes = (await readFile(encoded)).byteLength;
      const audio = decodeWav(await readFile(wavOut), wavOut).samples;
      return { audio, sampleRate: outRate, encodedBytes, encodeSeconds, decodeSeconds };
    },
  };
}

/**
 * `--baselines` items: a family (`codec2`, `opus`: every mode), one system id
 * (`codec2-1200`, `opus-6k`), or `none`.
 */
export function parseBaselines(list: string): EvalSystem[] {
  const all = [...CODEC2_MODES.map(codec2System), ...OPUS_BITRATES_KBPS.map(opusSystem)];
  const chosen = new Map<string, EvalSystem>();
  for (const item of list.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    if (item === 'none') continue;
    const matches = all.filter((system) => system.id === item || system.id.startsWith(`${item}-`));
    if (matches.length === 0) {
      throw new InputError('--baselines', `unknown baseline '${item}'; choose from codec2, opus, ${all.map((s) => s.id).join(', ')} or none`);
    }
    for (const system of matches) chosen.set(system.id, system);
  }
  return [...chosen.values()];
}
