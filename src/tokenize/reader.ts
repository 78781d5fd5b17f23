/**
 * Reading a merged token corpus for LM training, without loading shards
 * whole: utterances one at a time, or fixed-length windows over the token
 * stream. Tokens are read from each .bin at the offsets its .idx records.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError } from '../files.js';
import { CORPUS_FORMAT, CORPUS_INDEX_FILE, type CorpusIndex } from './merge.js';
import { bytesToTokens, decodeShardIndex, type ManifestRecord, type ShardUtterance } from './shard-format.js';

export interface WindowOptions {
  /** Tokens between the starts of consecutive windows. Default: the window length (no overlap). */
  stride?: number;
  /**
   * 'utterance' (default): windows never cross an utterance boundary, and an
   * utterance's tail shorter than a window is dropped. 'stream': utterances are
   * joined into one stream, with `separator` between them when given.
   */
  span?: 'utterance' | 'stream';
  /** A token id put between utterances in 'stream' windows (for instance K, one past the codebook). */
  separator?: number;
}

export class TokenCorpus {
  readonly directory: string;
  readonly index: CorpusIndex;

  private constructor(directory: string, index: CorpusIndex) {
    this.directory = directory;
    this.index = index;
  }

  /** Opens a directory that `tokenize merge` has finished. */
  static async open(directory: string): Promise<TokenCorpus> {
    const path = join(directory, CORPUS_INDEX_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? '; run simvq-audio tokenize merge on the directory first' : '';
      throw new InputError(path, describeFsError(error, 'read') + hint);
    }
    let index: CorpusIndex;
    try {
      index = JSON.parse(text) as CorpusIndex;
    } catch {
      throw new InputError(path, 'not valid JSON');
    }
    if (index.format !== CORPUS_FORMAT || index.version !== 1) throw new InputError(path, `not a ${CORPUS_FORMAT} index (version 1)`);
    return new TokenCorpus(directory, index);
  }

  /** Every utterance, shard by shard, in the plan's order. */
  async *utterances(): AsyncGenerator<ShardUtterance> {
    for (const shard of this.index.shards) {
      const indexPath = join(this.directory, shard.index);
      const { offsets, lengths } = decodeShardIndex(await readFile(indexPath), indexPath);
      const records = (await readFile(join(this.directory, shard.manifest), 'utf8'))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as ManifestRecord);
      const binPath = join(this.directory, shard.bin);
      let handle: FileHandle;
      try {
        handle = await open(binPath, 'r');
      } catch (error) {
        throw new InputError(binPath, describeFsError(error, 'read'));
      }
      try {
        for (let i = 0; i < offsets.length; i++) {
          const bytes = new Uint8Array(lengths[i]! * 4);
          const { bytesRead } = await handle.read(bytes, 0, bytes.length, offsets[i]! * 4);
          if (bytesRead !== bytes.length) throw new InputError(binPath, `ends inside utterance ${records[i]?.id ?? i}: the shard is truncated`);
          const record = records[i]!;
          yield { id: record.id, speaker: record.speaker, text: record.text, durationSeconds: record.duration, tokens: bytesToTokens(bytes) };
        }
      } finally {
        await handle.close();
      }
    }
  }

  /** Windows of exactly `length` tokens (see WindowOptions). */
  async *windows(length: number, options: WindowOptions = {}): AsyncGenerator<Uint32Array> {
    const stride = options.stride ?? length;
    if (!(Number.isInteger(length) && length > 0 && Number.isInteger(stride) && stride > 0)) {
      throw new RangeError(`windows: length and stride must be positive integers, got ${length} and ${stride}`);
    }
    if ((options.span ?? 'utterance') === 'utterance') {
      for await (const { tokens } of this.utterances()) {
        for (let start = 0; start + length <= tokens.length; start += stride) yield tokens.slice(start, start + length);
      }
      return;
    }
    // One stream: keep only the tokens a future window can still need.
    let buffer = new Uint32Array(0);
    let first = true;
    for await (const { tokens } of this.utterances()) {
      const joined = !first && options.separator !== undefined ? Uint32Array.of(options.separator) : new Uint32Array(0);
      first = false;
      const next = new Uint32Array(buffer.length + joined.length + tokens.length);
      next.set(buffer, 0);
      next.set(joined, buffer.length);
      next.set(tokens, buffer.length + joined.length);
      let start = 0;
      for (; start + length <= next.length; start += stride) yield next.slice(start, start + length);
      buffer = next.slice(Math.min(start, next.length));
    }
  }
}
