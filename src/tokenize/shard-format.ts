/**
 * One shard of a tokenized corpus: three files side by side.
 *
 *   shard-00003-of-00012.bin    tokens: flat little-endian uint32, utterance after utterance
 *   shard-00003-of-00012.jsonl  one line per utterance: id, speaker, text, n_tokens, duration, offset
 *   shard-00003-of-00012.idx    the index, written last: a shard is whole only when its
 *                               .idx exists and agrees with the other two files
 *
 * .idx layout (little-endian):
 *
 *   offset  size    field
 *   0       4       magic "SVQI"
 *   4       2       format version (1)
 *   6       4       header length H
 *   10      H       header: UTF-8 JSON (ShardHeader)
 *   10+H    12·N    per utterance: uint64 offset into .bin in tokens, uint32 length in tokens
 *   end−4   4       CRC-32 of every byte before it
 *
 * The header holds the sizes and CRC-32s of .bin and .jsonl, so a shard cut
 * short by an interrupt (or damaged later) is found and redone.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';

export const INDEX_MAGIC = Uint8Array.from([0x53, 0x56, 0x51, 0x49]); // "SVQI"
export const INDEX_VERSION = 1;
const FIXED_BYTES = 4 + 2 + 4;
const ENTRY_BYTES = 12;

/** The model the tokens came from: tokens are only meaningful with it. */
export interface TokenModelIdentity {
  id: string;
  hash: string;
  codebookSize: number;
  frameRate: number;
  sampleRate: number;
}

/** Same model: id, hash, codebook size and rates all agree. */
export function sameTokenModel(a: TokenModelIdentity, b: TokenModelIdentity): boolean {
  return a.id === b.id && a.hash === b.hash && a.codebookSize === b.codebookSize && a.frameRate === b.frameRate && a.sampleRate === b.sampleRate;
}

export interface SkippedFile {
  id: string;
  path: string;
  problem: string;
}

export interface ShardHeader {
  shard: number;
  shardCount: number;
  planHash: string;
  model: TokenModelIdentity;
  utterances: number;
  tokens: number;
  binBytes: number;
  binCrc32: number;
  manifestBytes: number;
  manifestCrc32: number;
  /** Utterances of the plan left out of this shard, each with its one-line reason. */
  skipped: SkippedFile[];
}

/** One manifest line. Field names are the (n_tokens), so other tools read them as they are. */
export interface ManifestRecord {
  id: string;
  speaker: string | null;
  text: string | null;
  n_tokens: number;
  duration: number;
  /** Offset of the first token in the shard's .bin, in tokens. */
  offset: number;
}

export interface ShardUtterance {
  id: string;
  speaker: string | null;
  text: string | null;
  durationSeconds: number;
  tokens: Uint32Array;
}

export function shardBaseName(shard: number, shardCount: number): string {
  const width = Math.max(5, String(shardCount).length);
  return `shard-${String(shard).padStart(width, '0')}-of-${String(shardCount).padStart(width, '0')}`;
}

export const SHARD_FILE_PATTERN = /^shard-(\d+)-of-(\d+)\.idx$/;

export function shardPaths(directory: string, shard: number, shardCount: number): { bin: string; manifest: string; index: string } {
  const base = join(directory, shardBaseName(shard, shardCount));
  return { bin: `${base}.bin`, manifest: `${base}.jsonl`, index: `${base}.idx` };
}

/** Tokens as little-endian bytes, whatever the machine's byte order. */
function tokensToBytes(tokens: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(tokens.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < tokens.length; i++) view.setUint32(i * 4, tokens[i]!, true);
  return bytes;
}

/** Little-endian bytes back to tokens. */
export function bytesToTokens(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tokens = new Uint32Array(bytes.length >>> 2);
  for (let i = 0; i < tokens.length; i++) tokens[i] = view.getUint32(i * 4, true);
  return tokens;
}

export function encodeShardIndex(header: ShardHeader, offsets: readonly number[], lengths: readonly number[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(FIXED_BYTES + json.length + ENTRY_BYTES * offsets.length + 4);
  const view = new DataView(out.buffer);
  out.set(INDEX_MAGIC, 0);
  view.setUint16(4, INDEX_VERSION, true);
  view.setUint32(6, json.length, true);
  out.set(json, FIXED_BYTES);
  let at = FIXED_BYTES + json.length;
  for (let i = 0; i < offsets.length; i++, at += ENTRY_BYTES) {
    view.setBigUint64(at, BigInt(offsets[i]!), true);
    view.setUint32(at + 8, lengths[i]!, true);
  }
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

export interface ShardIndex {
  header: ShardHeader;
  offsets: number[];
  lengths: number[];
}

export function decodeShardIndex(bytes: Uint8Array, source: string): ShardIndex {
  const fail = (problem: string) => new InputError(source, problem);
  if (bytes.length < FIXED_BYTES + 4 || !INDEX_MAGIC.every((b, i) => bytes[i] === b)) throw fail('not a token shard index (no SVQI signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== INDEX_VERSION) throw fail(`shard index version ${version}; this simvq-audio reads version ${INDEX_VERSION}`);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true)) throw fail('checksum mismatch: the index is corrupt');
  const headerLength = view.getUint32(6, true);
  let header: ShardHeader;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(FIXED_BYTES, FIXED_BYTES + headerLength)).toString('utf8')) as ShardHeader;
  } catch {
    throw fail('the header is not valid JSON');
  }
  const entriesStart = FIXED_BYTES + headerLength;
  if (bytes.length !== entriesStart + ENTRY_BYTES * header.utterances + 4) throw fail(`holds ${bytes.length} bytes, its header promises ${header.utterances} entries`);
  const offsets: number[] = [];
  const lengths: number[] = [];
  for (let i = 0, at = entriesStart; i < header.utterances; i++, at += ENTRY_BYTES) {
    offsets.push(Number(view.getBigUint64(at, true)));
    lengths.push(view.getUint32(at + 8, true));
  }
  return { header, offsets, lengths };
}

/**
 * Writes a shard: .bin and .jsonl first, the .idx last, each atomically, so an
 * interrupt leaves either a whole shard or one that `verifyShard` rejects.
 */
export async function writeShard(
  directory: string,
  identity: { shard: number; shardCount: number; planHash: string; model: TokenModelIdentity },
  utterances: readonly ShardUtterance[],
  skipped: readonly SkippedFile[],
): Promise<ShardHeader> {
  const paths = shardPaths(directory, identity.shard, identity.shardCount);
  const offsets: number[] = [];
  const lengths: number[] = [];
  let tokens = 0;
  const lines: string[] = [];
  for (const u of utterances) {
    offsets.push(tokens);
    lengths.push(u.tokens.length);
    const record: ManifestRecord = { id: u.id, speaker: u.speaker, text: u.text, n_tokens: u.tokens.length, duration: u.durationSeconds, offset: tokens };
    lines.push(JSON.stringify(record));
    tokens += u.tokens.length;
  }
  const bin = new Uint8Array(tokens * 4);
  utterances.forEach((u, i) => bin.set(tokensToBytes(u.tokens), offsets[i]! * 4));
  const manifest = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  const header: ShardHeader = {
    ...identity,
    utterances: utterances.length,
    tokens,
    binBytes: bin.length,
    binCrc32: crc32(bin),
    manifestBytes: manifest.length,
    manifestCrc32: crc32(manifest),
    skipped: [...skipped],
  };
  await writeFileAtomic(paths.bin, bin, true);
  await writeFileAtomic(paths.manifest, manifest, true);
  await writeFileAtomic(paths.index, encodeShardIndex(header, offsets, lengths), true);
  return header;
}

async function readOrFail(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'read'));
  }
}

/** A shard found whole, with the bytes of its .bin and .jsonl as they were checked. */
export interface VerifiedShard extends ShardIndex {
  bin: Uint8Array;
  manifest: Uint8Array;
}

/**
 * Reads a shard's index and checks the shard is whole: the .bin and .jsonl
 * sizes and checksums the index recorded. Throws InputError naming the file
 * that disagrees. Returns the bytes it checked, so a caller that wants them
 * need not read the files again.
 */
export async function verifyShard(directory: string, shard: number, shardCount: number): Promise<VerifiedShard> {
  const paths = shardPaths(directory, shard, shardCount);
  const index = decodeShardIndex(await readOrFail(paths.index), paths.index);
  const { header } = index;
  if (header.shard !== shard || header.shardCount !== shardCount) {
    throw new InputError(paths.index, `says it is shard ${header.shard} of ${header.shardCount}, its name says ${shard} of ${shardCount}`);
  }
  const checked = async (path: string, bytes: number, expected: number): Promise<Uint8Array> => {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      throw new InputError(path, describeFsError(error, 'read'));
    }
    if (size !== bytes) throw new InputError(path, `holds ${size} bytes, its index says ${bytes}: the shard is incomplete`);
    const content = await readOrFail(path);
    if (crc32(content) !== expected) throw new InputError(path, 'checksum mismatch with its index: the shard is damaged');
    return content;
  };
  const bin = await checked(paths.bin, header.binBytes, header.binCrc32);
  const manifest = await checked(paths.manifest, header.manifestBytes, header.manifestCrc32);
  return { ...index, bin, manifest };
}
