/**
 * How a corpus is cut into shards, the same way on every machine.
 *
 * Utterances are sorted by id and packed, in that order, into shards of about
 * `shardSeconds` of audio. The plan depends only on the listing (ids and
 * durations) and the shard size, so n machines that list the same corpus agree
 * on it without talking: with `--shard i/n`, machine i writes the shards j with
 * j mod n = i. The plan's hash goes into every shard, so shards of different
 * plans are never merged.
 */
import { createHash } from 'node:crypto';

import { InputError } from '../errors.js';
import type { Utterance } from '../datasets/index.js';

/** What a shard keeps about each utterance besides its tokens. */
export interface PlannedUtterance {
  id: string;
  path: string;
  speaker: string | null;
  text: string | null;
  durationSeconds: number;
}

export interface ShardPlan {
  /** Audio seconds a shard is filled to (the last utterance may overshoot). */
  shardSeconds: number;
  /** shards[j]: the utterances of shard j, in id order. */
  shards: PlannedUtterance[][];
  /** Hex digest of the listing and the shard size. */
  hash: string;
}

/** Which shards one machine writes: those with index mod count = index. */
export interface ShardSelector {
  index: number;
  count: number;
}

export const DEFAULT_SHARD_SECONDS = 3600;

/** Code-unit order, not locale order: the same on every machine. */
function byId(a: PlannedUtterance, b: PlannedUtterance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function planShards(utterances: readonly Utterance[], options: { shardSeconds?: number } = {}): ShardPlan {
  const shardSeconds = options.shardSeconds ?? DEFAULT_SHARD_SECONDS;
  if (!(shardSeconds > 0 && Number.isFinite(shardSeconds))) {
    throw new InputError('--shard-seconds', `must be a positive number of seconds, got ${shardSeconds}`);
  }
  const sorted = utterances
    .map(({ id, path, speaker, text, durationSeconds }) => ({ id, path, speaker, text, durationSeconds }))
    .sort(byId);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id) throw new InputError(sorted[i]!.path, `utterance id ${sorted[i]!.id} appears twice in the listing`);
  }
  const shards: PlannedUtterance[][] = [];
  let current: PlannedUtterance[] = [];
  let filled = 0;
  for (const utterance of sorted) {
    current.push(utterance);
    filled += utterance.durationSeconds;
    if (filled >= shardSeconds) {
      shards.push(current);
      current = [];
      filled = 0;
    }
  }
  if (current.length > 0) shards.push(current);
  const digest = createHash('sha256');
  digest.update(`shardSeconds=${shardSeconds}\n`);
  shards.forEach((shard, j) => {
    for (const u of shard) digest.update(`${j}\t${u.id}\t${u.durationSeconds}\n`);
  });
  return { shardSeconds, shards, hash: digest.digest('hex').slice(0, 16) };
}

/** Parses "i/n" (0 <= i < n). */
export function parseShardSelector(text: string): ShardSelector {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || !(count >= 1) || !(index < count)) {
    throw new InputError('--shard', `expects i/n with 0 <= i < n (e.g. 0/4 for the first of four machines), got '${text}'`);
  }
  return { index, count };
}

/** The shard numbers `selector` owns in a plan of `shardCount` shards. */
export function selectedShards(shardCount: number, selector: ShardSelector = { index: 0, count: 1 }): number[] {
  const owned: number[] = [];
  for (let j = selector.index; j < shardCount; j += selector.count) owned.push(j);
  return owned;
}
