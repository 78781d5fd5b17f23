/**
 * The token-pipeline commands: `tokenize`, `tokenize merge`, `detokenize`.
 * Loaded on use by main.ts.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { InputError } from '../errors.js';
import { Codec } from '../runtime/codec.js';
import { CORPUS_MANIFEST_FILE, mergeShards, parseShardSelector, TokenCorpus, tokenize, type ManifestRecord } from '../tokenize/index.js';
import { parseNumberOption } from './datasets.js';
import { JobProgress } from './progress.js';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface TokenizeCliOptions {
  out?: string;
  model?: string;
  workers?: string;
  shard?: string;
  shardSeconds?: string;
  /** False for --no-progress. */
  progress?: boolean;
}

export async function tokenizeCommand(spec: string, options: TokenizeCliOptions): Promise<void> {
  const out = options.out;
  if (out === undefined) throw new InputError('--out', 'is required: the directory the shards go to');
  let progress: JobProgress | null = null;
  let files = { done: 0, total: 0 };
  const summary = await tokenize({
    data: spec,
    out,
    ...(options.model === undefined ? {} : { model: options.model }),
    workers: parseNumberOption('--workers', options.workers, 2),
    ...(options.shard === undefined ? {} : { shard: parseShardSelector(options.shard) }),
    ...(options.shardSeconds === undefined ? {} : { shardSeconds: parseNumberOption('--shard-seconds', options.shardSeconds, 3600) }),
    log,
    onStart: (work) => {
      files = { done: 0, total: work.files };
      progress = new JobProgress({ label: 'tokenize', total: work.seconds, unit: 'audio-s', enabled: options.progress !== false });
    },
    onFile: (file) => {
      files.done++;
      progress?.advance(file.seconds, `${files.done}/${files.total} files`);
    },
  }).finally(() => (progress as JobProgress | null)?.finish());
  const speed = summary.wallSeconds > 0 ? summary.audioSeconds / summary.wallSeconds : 0;
  process.stdout.write(
    `${out}: ${summary.shardsWritten} shards written, ${summary.shardsAlreadyWhole} already whole (of ${summary.shardCount} in the plan); ` +
      `${summary.utterances} utterances, ${summary.skippedFiles} file${summary.skippedFiles === 1 ? '' : 's'} skipped; ${speed.toFixed(1)}x real time\n`,
  );
  process.stdout.write(JSON.stringify({ ...summary, x_real_time: speed }) + '\n');
}

export async function tokenizeMergeCommand(directory: string): Promise<void> {
  const index = await mergeShards(directory);
  const hours = index.durationSeconds / 3600;
  const usage = index.codeUsage;
  process.stdout.write(
    `${directory}: ${index.shardCount} shards whole; ${index.utterances} utterances, ${index.tokens} tokens, ${hours.toFixed(2)} h; ` +
      `wrote ${join(directory, 'index.json')} and ${join(directory, 'manifest.jsonl')}\n` +
      `codes used: ${usage.usedCodes} of ${usage.codebookSize} (${(100 * usage.utilization).toFixed(1)} %); uniform use would touch ` +
      `${Math.round(usage.uniformExpectedCodes)} in ${usage.tokens} tokens (${(100 * (usage.usedCodes / usage.uniformExpectedCodes)).toFixed(1)} % of that); perplexity ${usage.perplexity.toFixed(0)}\n`,
  );
}

export interface DetokenizeCliOptions {
  id: string[];
  outDir: string;
  model?: string;
  force?: boolean;
}

export async function detokenizeCommand(directory: string, options: DetokenizeCliOptions): Promise<void> {
  if (options.id.length === 0) throw new InputError('--id', 'name at least one utterance to decode');
  const corpus = await TokenCorpus.open(directory);
  const made = corpus.index.model;
  // Every id is checked against the merged manifest before any WAV is written.
  const known = new Set(
    (await readFile(join(directory, CORPUS_MANIFEST_FILE), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as ManifestRecord).id),
  );
  const unknown = options.id.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new InputError(directory, `has no utterance ${unknown.join(', ')}`);
  const codec = await Codec.load(options.model);
  try {
    if (codec.modelHash !== made.hash) {
      throw new InputError(directory, `holds tokens of model ${made.id} (${made.hash}); the model given is ${codec.modelId} (${codec.modelHash})`);
    }
    const wanted = new Set(options.id);
    await mkdir(options.outDir, { recursive: true });
    for await (const utterance of corpus.utterances()) {
      if (!wanted.delete(utterance.id)) continue;
      // The recorded duration, kept within the last frame (the shard stores seconds, rounded).
      const frames = utterance.tokens.length;
      const originalLength = Math.max((frames - 1) * codec.hop + 1, Math.min(frames * codec.hop, Math.round(utterance.durationSeconds * codec.sampleRate)));
      const tokens = {
        header: { modelId: made.id, modelHash: made.hash, sampleRate: made.sampleRate, frameRate: made.frameRate, codebookSize: made.codebookSize, frameCount: frames, originalLength },
        codes: utterance.tokens,
      };
      // Ids may hold path separators (a dir: dataset's relative paths).
      const path = join(options.outDir, `${utterance.id.replaceAll('/', '__')}.wav`);
      await codec.decodeToWavFile(tokens, path, { source: `${directory} ${utterance.id}`, force: options.force === true });
      process.stdout.write(`${path}\n`);
      if (wanted.size === 0) break;
    }
  } finally {
    await codec.dispose();
  }
}
