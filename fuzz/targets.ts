/**
 * What the fuzzer feeds and how it judges the answer.
 *
 * Each target starts from valid files (WAV, .svq, JSON tokens, a token shard,
 * a model manifest), mutates their bytes, and hands them to the reader a user
 * would reach them through. Every answer must be one of two:
 *   accepted  the reader returned (and what it returned was usable), or
 *   refused   an InputError whose message is one line.
 * Anything else (another error, a message over several lines) is a failure.
 * Hangs and memory are watched from outside (./run.ts).
 */
import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { decodeWav, encodeWav, readWav } from '../src/audio/index.js';
import { pcm16WavHeader } from '../src/audio/wav.js';
import { readTokenFile } from '../src/tokens/token-file.js';
import { probeWav, readWavFrames } from '../src/datasets/probe.js';
import { InputError } from '../src/errors.js';
import { Codec } from '../src/runtime/codec.js';
import { defaultModelDirectory, readModelDirectory } from '../src/runtime/model-dir.js';
import { decodeSvq, encodeSvq } from '../src/tokens/svq.js';
import { verifyShard, writeShard } from '../src/tokenize/shard-format.js';

export type Verdict = 'accepted' | 'refused';

export interface Target {
  readonly name: string;
  /** Valid inputs to mutate. */
  readonly seeds: Uint8Array[];
  /** Structured mutations (JSON) before the byte-level ones; optional. */
  mutateText?: (text: string, random: () => number) => string;
  /** Feeds the bytes to the library reader in `scratch` (an empty folder). */
  check(bytes: Uint8Array, scratch: string): Promise<Verdict>;
  /** The CLI command that reads such a file: argv after `simvq-audio`, given the input and an output path. */
  cli?: (input: string, output: string) => string[];
  /** File name the input is written under. */
  readonly fileName: string;
}

/** Accepted, refused with one line, or a failure (rethrown). */
export async function judge(run: () => Promise<unknown>): Promise<Verdict> {
  try {
    await run();
    return 'accepted';
  } catch (error) {
    if (error instanceof InputError && !error.message.includes('\n')) return 'refused';
    throw error;
  }
}

/** The fuzzer's targets, built around the default model (its tokens, its manifest). */
export async function buildTargets(scratch: string): Promise<{ targets: Target[]; close: () => Promise<void> }> {
  const modelDirectory = defaultModelDirectory();
  const codec = await Codec.load(modelDirectory);
  const speech = (await readWav(resolve('samples/speech-16k.wav'))).samples;
  const clip = speech.subarray(0, 8000);
  const tokens = await codec.encode(clip, 16000);

  const rf64 = (() => {
    const pcm = encodeWav(clip.subarray(0, 2000), 16000, 'pcm16').subarray(44);
    const header = pcm16WavHeader(16000, 2000);
    // A real RF64 header on a small file: the layout a > 4 GiB file has.
    const rf = Buffer.alloc(80);
    rf.write('RF64', 0, 'latin1');
    rf.writeUInt32LE(0xffffffff, 4);
    rf.write('WAVEds64', 8, 'latin1');
    rf.writeUInt32LE(28, 16);
    rf.writeUInt32LE(72 + pcm.length, 20);
    rf.writeUInt32LE(pcm.length, 28);
    rf.writeUInt32LE(2000, 36);
    header.copy(rf, 48, 12, 36); // "fmt " chunk
    rf.write('data', 72, 'latin1');
    rf.writeUInt32LE(0xffffffff, 76);
    const bytes = Uint8Array.from([...rf, ...pcm]);
    if (decodeWav(bytes, 'rf64 seed').samples.length !== 2000) throw new Error('the RF64 seed does not read back');
    return bytes;
  })();

  const wav: Target = {
    name: 'wav',
    fileName: 'input.wav',
    seeds: [encodeWav(clip, 16000, 'pcm16'), encodeWav(clip.subarray(0, 3000), 22050, 'float32'), rf64],
    async check(bytes, dir) {
      const path = join(dir, this.fileName);
      await writeFile(path, bytes);
      const inMemory = await judge(async () => decodeWav(bytes, path));
      const fromFile = await judge(async () => {
        const header = await probeWav(path);
        await readWavFrames(path, () => [0, Math.min(header.frames, 48_000)]);
      });
      // One parser: what the whole-file reader takes, the window reader takes too.
      if (inMemory === 'accepted' && fromFile === 'refused') throw new Error('readWav accepts this file but probeWav/readWavFrames refuse it');
      return inMemory;
    },
    cli: (input, output) => ['encode', input, '-o', output, '--model', modelDirectory, '--no-progress'],
  };

  const svq: Target = {
    name: 'svq',
    fileName: 'input.svq',
    seeds: [encodeSvq(tokens)],
    async check(bytes, dir) {
      const path = join(dir, this.fileName);
      return judge(async () => {
        const file = decodeSvq(bytes, path);
        // What decode does next: checked against the model, then decoded.
        await codec.decode(file, { source: path });
      });
    },
    cli: (input, output) => ['decode', input, '-o', output, '--model', modelDirectory, '--no-progress'],
  };

  const json: Target = {
    name: 'json-tokens',
    fileName: 'input.json',
    seeds: [new TextEncoder().encode(JSON.stringify({ header: tokens.header, codes: Array.from(tokens.codes) }))],
    mutateText: mutateJson,
    async check(bytes, dir) {
      const path = join(dir, this.fileName);
      await writeFile(path, bytes);
      return judge(async () => codec.decode(await readTokenFile(path), { source: path }));
    },
    cli: (input, output) => ['decode', input, '-o', output, '--model', modelDirectory, '--no-progress'],
  };

  // A token shard: its index is what a reader checks first.
  const shardSource = join(scratch, 'shard-seed');
  await mkdir(shardSource, { recursive: true });
  const model = { id: tokens.header.modelId, hash: tokens.header.modelHash, codebookSize: tokens.header.codebookSize, frameRate: tokens.header.frameRate, sampleRate: tokens.header.sampleRate };
  await writeShard(shardSource, { shard: 0, shardCount: 1, planHash: 'fuzz', model }, [
    { id: 'a', speaker: 's', text: 'one', durationSeconds: 0.5, tokens: tokens.codes.subarray(0, 25) },
    { id: 'b', speaker: null, text: null, durationSeconds: 0.3, tokens: tokens.codes.subarray(5, 20) },
  ], []);
  const { readFile } = await import('node:fs/promises');
  const shardFiles = ['shard-00000-of-00001.idx', 'shard-00000-of-00001.bin', 'shard-00000-of-00001.jsonl'];
  const shardSeeds = await Promise.all(shardFiles.map((name) => readFile(join(shardSource, name))));
  const shard = (which: number): Target => ({
    name: `shard-${shardFiles[which]!.split('.').pop()}`,
    fileName: shardFiles[which]!,
    seeds: [shardSeeds[which]!],
    async check(bytes, dir) {
      for (const [i, name] of shardFiles.entries()) await writeFile(join(dir, name), i === which ? bytes : shardSeeds[i]!);
      return judge(async () => verifyShard(dir, 0, 1));
    },
  });

  const manifestBytes = await readFile(join(modelDirectory, 'model.json'));
  const manifest: Target = {
    name: 'model-manifest',
    fileName: 'model.json',
    seeds: [manifestBytes],
    mutateText: mutateJson,
    async check(bytes, dir) {
      const copy = join(dir, 'model');
      await mkdir(copy);
      const { readdir } = await import('node:fs/promises');
      for (const name of await readdir(modelDirectory)) {
        if (name === 'model.json') continue;
        // The big files by link, the small ones copied: only the manifest is mutated.
        if (name.endsWith('.onnx') || name.endsWith('.f32') || name.endsWith('.safetensors')) await symlink(join(modelDirectory, name), join(copy, name));
        else if (name.endsWith('.json')) await copyFile(join(modelDirectory, name), join(copy, name));
      }
      await writeFile(join(copy, 'model.json'), bytes);
      try {
        return await judge(async () => readModelDirectory(copy));
      } finally {
        await rm(copy, { recursive: true, force: true });
      }
    },
  };

  return { targets: [wav, svq, json, shard(0), shard(1), shard(2), manifest], close: () => codec.dispose() };
}

/** Replaces, retypes or removes one value somewhere in a JSON document (or returns the text unchanged if it is not JSON). */
export function mutateJson(text: string, random: () => number): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const strange: unknown[] = [null, -1, 0, 1.5, 2 ** 53, 1e308, -1e308, '', 'x', '64', true, [], {}, [1, 2], 'ffffffffffffffff'];
  const containers: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((child, i) => (containers.push({ parent: node, key: i }), walk(child)));
    else if (node !== null && typeof node === 'object') for (const [k, child] of Object.entries(node)) (containers.push({ parent: node as Record<string, unknown>, key: k }), walk(child));
  };
  walk(value);
  if (containers.length === 0) return text;
  const { parent, key } = containers[Math.floor(random() * containers.length)]!;
  const choice = random();
  if (choice < 0.15 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string | number, unknown>)[key] = strange[Math.floor(random() * strange.length)];
  return JSON.stringify(value);
}
