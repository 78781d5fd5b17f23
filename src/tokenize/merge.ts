/**
 * `tokenize merge DIR`: checks that every shard of the plan is present and
 * whole, and that all came from one plan and one model, then writes the
 * global `index.json` and `manifest.jsonl` (every utterance, with its shard).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';
import { countCodeIds, usageFromCounts, type CodeUsage } from '../quantizers/usage.js';
import { SHARD_FILE_PATTERN, sameTokenModel, shardBaseName, verifyShard, type ManifestRecord, type ShardHeader, type SkippedFile, type TokenModelIdentity, type VerifiedShard } from './shard-format.js';

export const CORPUS_INDEX_FILE = 'index.json';
export const CORPUS_MANIFEST_FILE = 'manifest.jsonl';
export const CORPUS_FORMAT = 'simvq-audio tokens';

export interface CorpusShardEntry {
  /** File names (no directory) of the shard's three files. */
  bin: string;
  manifest: string;
  index: string;
  utterances: number;
  tokens: number;
}

/** DIR/index.json. */
export interface CorpusIndex {
  format: typeof CORPUS_FORMAT;
  version: 1;
  model: TokenModelIdentity;
  planHash: string;
  shardCount: number;
  utterances: number;
  tokens: number;
  durationSeconds: number;
  shards: CorpusShardEntry[];
  skipped: SkippedFile[];
  /** How the corpus uses the codebook. */
  codeUsage: CorpusCodeUsage;
}

/**
 * Codebook usage over every token of the corpus. Utilisation (codes used ÷ K)
 * is bounded by the token count, so it comes with what a perfectly uniform
 * use of the codebook would touch in as many draws, K·(1 − (1 − 1/K)^N):
 * `usedCodes / uniformExpectedCodes` reads as utilisation on corpora of any size.
 */
export interface CorpusCodeUsage extends CodeUsage {
  uniformExpectedCodes: number;
}

/** A global manifest line: the shard's record plus which shard holds it. */
export interface CorpusManifestRecord extends ManifestRecord {
  shard: number;
}

/** Lists shard numbers in a run, as "3, 7 and 9" for messages. */
function listNumbers(numbers: number[]): string {
  const shown = numbers.slice(0, 10).map(String);
  const more = numbers.length > 10 ? ` and ${numbers.length - 10} more` : '';
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')}${more === '' ? ` and ${shown.at(-1)!}` : `, ${shown.at(-1)!}${more}`}`;
}

export async function mergeShards(directory: string): Promise<CorpusIndex> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    throw new InputError(directory, describeFsError(error, 'read'));
  }
  const counts = new Set<number>();
  for (const name of names) {
    const match = SHARD_FILE_PATTERN.exec(name);
    if (match) counts.add(Number(match[2]));
  }
  if (counts.size === 0) throw new InputError(directory, 'holds no token shards (shard-*-of-*.idx); run simvq-audio tokenize first');
  if (counts.size > 1) throw new InputError(directory, `holds shards of different plans (${[...counts].sort((a, b) => a - b).join(', ')} shards); keep one run per directory`);
  const shardCount = [...counts][0]!;

  // One pass over the shards: each is read once, checked, and its manifest lines and codes taken then.
  const headers: ShardHeader[] = [];
  const problems: string[] = [];
  const broken: number[] = [];
  const lines: string[] = [];
  let durationSeconds = 0;
  let codeCounts: Float64Array | null = null;
  for (let j = 0; j < shardCount; j++) {
    let shard: VerifiedShard;
    try {
      shard = await verifyShard(directory, j, shardCount);
    } catch (error) {
      broken.push(j);
      if (problems.length === 0 && error instanceof InputError) problems.push(error.message);
      continue;
    }
    const { header } = shard;
    headers.push(header);
    for (const line of Buffer.from(shard.manifest).toString('utf8').split('\n')) {
      if (line === '') continue;
      const record = JSON.parse(line) as ManifestRecord;
      durationSeconds += record.duration;
      const global: CorpusManifestRecord = { ...record, shard: header.shard };
      lines.push(JSON.stringify(global));
    }
    // Counted against the first whole shard's codebook; a shard of another model is refused below.
    codeCounts ??= new Float64Array(header.model.codebookSize);
    if (header.model.codebookSize === codeCounts.length) {
      // Whole uint32 little-endian ids (copied: a Buffer may sit unaligned in its pool).
      countCodeIds(new Uint32Array(shard.bin.buffer.slice(shard.bin.byteOffset, shard.bin.byteOffset + shard.bin.byteLength)), codeCounts);
    }
  }
  if (broken.length > 0) {
    const first = problems.length > 0 ? ` (first: ${problems[0]})` : '';
    throw new InputError(directory, `shard${broken.length === 1 ? '' : 's'} ${listNumbers(broken)} of ${shardCount} missing or incomplete; rerun tokenize for them${first}`);
  }
  const [first] = headers as [ShardHeader, ...ShardHeader[]];
  for (const header of headers) {
    if (header.planHash !== first.planHash) throw new InputError(directory, `shard ${header.shard} comes from plan ${header.planHash}, shard 0 from ${first.planHash}: different corpora or shard sizes`);
    if (!sameTokenModel(header.model, first.model)) {
      throw new InputError(directory, `shard ${header.shard} was made by model ${header.model.id} (${header.model.hash}), shard 0 by ${first.model.id} (${first.model.hash})`);
    }
  }

  const usage = usageFromCounts(codeCounts!);
  const K = first.model.codebookSize;
  const codeUsage: CorpusCodeUsage = { ...usage, uniformExpectedCodes: K * -Math.expm1(usage.tokens * Math.log1p(-1 / K)) };
  const index: CorpusIndex = {
    format: CORPUS_FORMAT,
    version: 1,
    model: first.model,
    planHash: first.planHash,
    shardCount,
    utterances: headers.reduce((n, h) => n + h.utterances, 0),
    tokens: headers.reduce((n, h) => n + h.tokens, 0),
    durationSeconds,
    shards: headers.map((h) => {
      const base = shardBaseName(h.shard, shardCount);
      return { bin: `${base}.bin`, manifest: `${base}.jsonl`, index: `${base}.idx`, utterances: h.utterances, tokens: h.tokens };
    }),
    skipped: headers.flatMap((h) => h.skipped),
    codeUsage,
  };
  await writeFileAtomic(join(directory, CORPUS_MANIFEST_FILE), lines.map((l) => `${l}\n`).join(''), true);
  await writeFileAtomic(join(directory, CORPUS_INDEX_FILE), JSON.stringify(index, null, 1) + '\n', true);
  return index;
}
