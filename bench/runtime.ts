/**
 * npm run bench:runtime — inference speed and long-file memory of the runtime.
 *
 * A randomly initialised model of the preset (speed does not depend on
 * training) is exported to a temporary model directory and loaded with
 * `Codec.load` on onnxruntime. Reported:
 * - encode and decode speed in × real time on `seconds` of speech (the
 *   repository's sample, tiled), the median of `repeats` timed runs after one
 *   untimed run; threads: $SIMVQ_THREADS, else one per core;
 * - peak RSS of a separate process that encodes a `long-seconds` WAV file
 *   (default one hour) with `Codec.encodeWavFile`, which reads and encodes it
 *   window by window;
 * - peak RSS of a separate process that decodes a `long-decode-seconds`
 *   token file (default ten hours) to a WAV file with `Codec.decodeToWavFile`,
 *   which decodes and writes it window by window.
 * - Codec2 1200 and Opus 6 kbit/s on the same audio through Debian's c2enc /
 *   c2dec and opusenc / opusdec (process start included, as a user runs them),
 *   and the model's encode + decode speed as a multiple of theirs;
 * - cold start: the wall time of a whole `simvq-audio encode` process on the
 *   repository's 4 s sample with the default model (this bench's model when
 *   none is installed), median of `repeats`.
 * Also the parity of the exported graphs with the tfjs model on the sample.
 * The last line printed is one JSON object: rtf_x = { encode, decode } and
 * peak_rss_mb (encode) and decode_peak_rss_mb, with the settings and the
 * parity beside them.
 *
 * Flags: --preset NAME (default: the default model's, speech-16k-0.9kbps-stft)  --seconds N (30)  --repeats N (5)
 *        --long-seconds N (3600; 0 skips)  --long-decode-seconds N (36000; 0 skips)
 *        --window N (encoder window frames, default the Codec's)
 */
import { DEFAULT_BENCH_PRESET } from './default-preset.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readWav } from '../src/audio/index.js';
import { Codec } from '../src/runtime/codec.js';
import { readSvq, writeSvq } from '../src/tokens/svq.js';
import { onnxRuntimeThreads } from '../src/engine/ort/runtime.js';
import { median, timeItAsync } from './timing.js';

interface Args {
  preset: string;
  seconds: number;
  repeats: number;
  longSeconds: number;
  window: number | null;
  longDecodeSeconds: number;
  /** Child mode: encode this WAV with the model in --model and report peak RSS. */
  encodeWav: string | null;
  /** Child mode: decode this token file to --out with the model in --model and report peak RSS. */
  decodeTokens: string | null;
  out: string | null;
  model: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { preset: DEFAULT_BENCH_PRESET, seconds: 30, repeats: 5, longSeconds: 3600, longDecodeSeconds: 36000, window: null, encodeWav: null, decodeTokens: null, out: null, model: null };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--preset': args.preset = value(); break;
      case '--seconds': args.seconds = Number(value()); break;
      case '--repeats': args.repeats = Number(value()); break;
      case '--long-seconds': args.longSeconds = Number(value()); break;
      case '--long-decode-seconds': args.longDecodeSeconds = Number(value()); break;
      case '--decode-tokens': args.decodeTokens = value(); break;
      case '--out': args.out = value(); break;
      case '--window': args.window = Number(value()); break;
      case '--encode-wav': args.encodeWav = value(); break;
      case '--model': args.model = value(); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

/** `seconds` of speech at 16 kHz: the sample, tiled. */
function tiledSpeech(speech: Float32Array, samples: number, offset = 0): Float32Array {
  const out = new Float32Array(samples);
  for (let t = 0; t < samples; t++) out[t] = speech[(offset + t) % speech.length]!;
  return out;
}

/** A 16-bit mono WAV of tiled speech, written piece by piece (the whole file never sits in memory). */
function writeLongWav(path: string, speech: Float32Array, sampleRate: number, seconds: number): void {
  const total = Math.round(seconds * sampleRate);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + 2 * total, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(2 * sampleRate, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(2 * total, 40);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    const piece = 1 << 20;
    for (let start = 0; start < total; start += piece) {
      const n = Math.min(piece, total - start);
      const samples = tiledSpeech(speech, n, start);
      const pcm = Buffer.alloc(2 * n);
      for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768))), 2 * i);
      writeSync(fd, pcm);
    }
  } finally {
    closeSync(fd);
  }
}

async function childEncode(args: Args): Promise<void> {
  const codec = await Codec.load(args.model!, { engine: 'onnxruntime', ...(args.window === null ? {} : { encodeWindowFrames: args.window }) });
  const start = process.hrtime.bigint();
  const tokens = await codec.encodeWavFile(args.encodeWav!);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await codec.dispose();
  // maxRSS is in kilobytes: the process's peak resident set, whole run included.
  process.stdout.write(JSON.stringify({ peak_rss_mb: process.resourceUsage().maxRSS / 1024, frames: tokens.codes.length, seconds }) + '\n');
}

async function childDecode(args: Args): Promise<void> {
  const codec = await Codec.load(args.model!, { engine: 'onnxruntime' });
  const tokens = await readSvq(args.decodeTokens!);
  const start = process.hrtime.bigint();
  await codec.decodeToWavFile(tokens, args.out!);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await codec.dispose();
  process.stdout.write(JSON.stringify({ peak_rss_mb: process.resourceUsage().maxRSS / 1024, frames: tokens.codes.length, seconds }) + '\n');
}

function runChild(script: string, args: string[]): Promise<{ peak_rss_mb: number; frames: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`long-file child exited with ${code}`))));
  });
}

/**
 * Encode + decode speed (× real time) of Codec2 1200 and Opus 6 kbit/s on
 * `audio`, median of `repeats`; null where the Debian tool is missing.
 */
async function baselineSpeeds(audio: Float32Array, sampleRate: number, repeats: number, scratch: string): Promise<Record<string, number | null>> {
  const { codec2System, opusSystem } = await import('../src/eval/index.js');
  const out: Record<string, number | null> = {};
  for (const system of [codec2System('1200'), opusSystem(6)]) {
    try {
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const work = mkdtempSync(join(scratch, `${system.id}-`));
        const trip = await system.roundTrip(audio, sampleRate, work);
        rmSync(work, { recursive: true, force: true });
        times.push(trip.encodeSeconds + trip.decodeSeconds);
      }
      out[system.id] = audio.length / sampleRate / median(times);
    } catch {
      out[system.id] = null;
    }
  }
  return out;
}

/** Wall seconds of a whole `simvq-audio encode` process on the sample, median of `repeats` (after one untimed run). */
async function coldStartSeconds(benchModel: string, repeats: number, scratch: string): Promise<{ seconds: number; model: string }> {
  const { defaultModelDirectory } = await import('../src/runtime/model-dir.js');
  const installed = defaultModelDirectory();
  const model = existsSync(join(installed, 'model.json')) ? installed : benchModel;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['bin/simvq-audio.js', 'encode', 'samples/speech-16k.wav', '-o', join(scratch, 'cold.svq'), '--force', '--model', model], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`simvq-audio encode exited with ${code}`))));
    });
  const seconds = await timeItAsync(run, repeats);
  return { seconds, model: model === installed ? 'the default model' : 'the bench model' };
}

const args = parseArgs(process.argv.slice(2));
if (args.encodeWav !== null) {
  await childEncode(args);
} else if (args.decodeTokens !== null) {
  await childDecode(args);
} else {
  // Building and exporting the model needs tfjs; the measured Codec does not.
  const [tf, { initEngine }, { loadCodecConfig }, { CodecModel }, { writeModelDirectory }] = await Promise.all([
    import('@tensorflow/tfjs'),
    import('../src/engine/index.js'),
    import('../src/codec/presets.js'),
    import('../src/codec/model.js'),
    import('../src/export/model-directory.js'),
  ]);
  await initEngine();
  const config = await loadCodecConfig(args.preset);
  const scratch = mkdtempSync(join(tmpdir(), 'simvq-bench-runtime-'));
  try {
    const modelDir = join(scratch, 'model');
    const model = new CodecModel(config, 0);
    await writeModelDirectory(model, modelDir);
    const codec = await Codec.load(modelDir, { engine: 'onnxruntime', ...(args.window === null ? {} : { encodeWindowFrames: args.window }) });
    const speech = (await readWav('samples/speech-16k.wav')).samples;
    if (config.sampleRate !== 16000) throw new Error('the bench tiles a 16 kHz sample; pick a 16 kHz preset');
    // Parity of the exported graphs with the tfjs model on the whole sample (what test/runtime checks on tiny models).
    const clip = speech.subarray(0, Math.floor(speech.length / codec.hop) * codec.hop);
    const onnxTokens = await codec.encode(clip, config.sampleRate);
    const tfjsCodes = tf.tidy(() => model.encode(tf.tensor3d(clip, [1, 1, clip.length])).dataSync() as Int32Array);
    const tfjsAudio = tf.tidy(() => model.decode(tf.tensor2d(Int32Array.from(onnxTokens.codes), [1, onnxTokens.codes.length], 'int32')).dataSync() as Float32Array);
    const onnxAudio = await codec.decode(onnxTokens);
    // Frames whose latents are exactly zero (digital silence through an untrained encoder, all of
    // whose biases are zero) have no direction: every code is at distance ‖e‖² = 1 up to rounding,
    // and the rounding picks the code. They are counted apart.
    const latents = tf.tidy(() => model.latents(tf.tensor3d(clip, [1, 1, clip.length])).dataSync() as Float32Array);
    model.dispose();
    const frameCount = tfjsCodes.length;
    const zeroFrame = (f: number) => {
      for (let c = 0; c < config.latentDim; c++) if (latents[c * frameCount + f] !== 0) return false;
      return true;
    };
    let identical = 0;
    let zeroFrames = 0;
    let identicalNonZero = 0;
    for (let i = 0; i < frameCount; i++) {
      const same = tfjsCodes[i] === onnxTokens.codes[i];
      if (same) identical++;
      if (zeroFrame(i)) zeroFrames++;
      else if (same) identicalNonZero++;
    }
    let worst = 0;
    for (let i = 0; i < onnxAudio.length; i++) worst = Math.max(worst, Math.abs(onnxAudio[i]! - tfjsAudio[i]!));
    const parity = {
      frames: frameCount,
      identical_tokens: identical / frameCount,
      zero_latent_frames: zeroFrames,
      identical_tokens_other_frames: identicalNonZero / (frameCount - zeroFrames),
      audio_max_abs_diff: worst,
    };
    console.log(`  parity with tfjs on ${frameCount} frames: ${identical} identical tokens (${identicalNonZero} of the ${frameCount - zeroFrames} frames whose latents are not all zero), decoded audio within ${worst.toExponential(1)}`);
    const audio = tiledSpeech(speech, Math.round(args.seconds * config.sampleRate));
    const tokens = await codec.encode(audio, config.sampleRate);
    const encodeSeconds = await timeItAsync(() => codec.encode(audio, config.sampleRate), args.repeats);
    const decodeSeconds = await timeItAsync(() => codec.decode(tokens), args.repeats);
    await codec.dispose();
    const rtf = { encode: args.seconds / encodeSeconds, decode: args.seconds / decodeSeconds };
    const both = args.seconds / (encodeSeconds + decodeSeconds);
    console.log(`${args.preset}: ${args.seconds} s of speech, ${onnxRuntimeThreads()} onnxruntime threads, median of ${args.repeats}`);
    console.log(`  encode ${rtf.encode.toFixed(1)}x real time (${(encodeSeconds * 1000).toFixed(0)} ms), decode ${rtf.decode.toFixed(1)}x (${(decodeSeconds * 1000).toFixed(0)} ms), encode+decode ${both.toFixed(1)}x`);
    const baselines = await baselineSpeeds(audio, config.sampleRate, args.repeats, scratch);
    for (const [id, x] of Object.entries(baselines)) {
      console.log(`  ${id}: encode+decode ${x === null ? 'not measured (its Debian tool is missing)' : `${x.toFixed(1)}x real time; the model is ${(both / x).toFixed(2)}x its speed`}`);
    }
    const coldStart = await coldStartSeconds(modelDir, args.repeats, scratch);
    console.log(`  cold start: simvq-audio encode of the 4 s sample (${coldStart.model}) takes ${coldStart.seconds.toFixed(2)} s, whole process`);
    let peakRssMb: number | null = null;
    let longFile: { frames: number; seconds: number } | null = null;
    if (args.longSeconds > 0) {
      const wav = join(scratch, 'long.wav');
      writeLongWav(wav, speech, config.sampleRate, args.longSeconds);
      const script = fileURLToPath(import.meta.url);
      const result = await runChild(script, ['--encode-wav', wav, '--model', modelDir, ...(args.window === null ? [] : ['--window', String(args.window)])]);
      peakRssMb = result.peak_rss_mb;
      longFile = { frames: result.frames, seconds: result.seconds };
      console.log(`  ${args.longSeconds} s WAV encoded in ${result.seconds.toFixed(1)} s (${(args.longSeconds / result.seconds).toFixed(1)}x), ${result.frames} frames, peak RSS ${peakRssMb.toFixed(0)} MB`);
    }
    let decodePeakRssMb: number | null = null;
    let longDecode: { frames: number; seconds: number } | null = null;
    if (args.longDecodeSeconds > 0) {
      // The 30 s of tokens above, tiled to the length asked for.
      const frames = Math.round(args.longDecodeSeconds * codec.frameRate);
      const codes = new Uint32Array(frames);
      for (let i = 0; i < frames; i++) codes[i] = tokens.codes[i % tokens.codes.length]!;
      const svq = join(scratch, 'long.svq');
      await writeSvq(svq, { header: { ...tokens.header, frameCount: frames, originalLength: frames * codec.hop }, codes });
      const script = fileURLToPath(import.meta.url);
      const result = await runChild(script, ['--decode-tokens', svq, '--out', join(scratch, 'long-decoded.wav'), '--model', modelDir]);
      rmSync(join(scratch, 'long-decoded.wav'), { force: true });
      decodePeakRssMb = result.peak_rss_mb;
      longDecode = { frames: result.frames, seconds: result.seconds };
      console.log(`  ${args.longDecodeSeconds} s of tokens decoded to a WAV file in ${result.seconds.toFixed(1)} s (${(args.longDecodeSeconds / result.seconds).toFixed(1)}x), peak RSS ${decodePeakRssMb.toFixed(0)} MB`);
    }
    console.log(
      JSON.stringify({
        preset: args.preset,
        threads: onnxRuntimeThreads(),
        // Other jobs on the machine slow every figure here; the 1-minute load average says how busy it was.
        load_average_1m: Number(loadavg()[0]!.toFixed(2)),
        seconds: args.seconds,
        repeats: args.repeats,
        rtf_x: { encode: Number(rtf.encode.toFixed(2)), decode: Number(rtf.decode.toFixed(2)) },
        encode_decode_x: Number(both.toFixed(2)),
        baselines_encode_decode_x: Object.fromEntries(Object.entries(baselines).map(([id, x]) => [id, x === null ? null : Number(x.toFixed(2))])),
        model_vs_baselines: Object.fromEntries(Object.entries(baselines).map(([id, x]) => [id, x === null ? null : Number((both / x).toFixed(2))])),
        cold_start_s: Number(coldStart.seconds.toFixed(3)),
        cold_start_model: coldStart.model,
        peak_rss_mb: peakRssMb === null ? null : Number(peakRssMb.toFixed(1)),
        parity,
        long_file: longFile === null ? null : { seconds: args.longSeconds, frames: longFile.frames, encode_s: Number(longFile.seconds.toFixed(1)) },
        decode_peak_rss_mb: decodePeakRssMb === null ? null : Number(decodePeakRssMb.toFixed(1)),
        long_decode: longDecode === null ? null : { seconds: args.longDecodeSeconds, frames: longDecode.frames, decode_s: Number(longDecode.seconds.toFixed(1)) },
      }),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
