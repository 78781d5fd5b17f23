/**
 * Token shards without a model: the plan every machine agrees on, shards that
 * are whole or detectably not, merging, and reading back for LM training.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import type { Utterance } from '../../src/datasets/index.js';
import { InputError } from '../../src/errors.js';
import {
  mergeShards,
  parseShardSelector,
  planShards,
  selectedShards,
  shardPaths,
  TokenCorpus,
  verifyShard,
  writeShard,
  type ShardPlan,
  type ShardUtterance,
  type TokenModelIdentity,
} from '../../src/tokenize/index.js';
import { mulberry32 } from '../helpers/random.js';

const MODEL: TokenModelIdentity = { id: 'tiny', hash: 'abc123', codebookSize: 4096, frameRate: 50, sampleRate: 16000 };

function utterance(id: string, durationSeconds: number): Utterance {
  return { id, path: `/data/${id}.wav`, speaker: id.split('_')[0]!, text: `text of ${id}`, originalText: null, durationSeconds, sampleRate: 16000, subset: null, chapter: null };
}

/** Deterministic fake tokens for an utterance: 50 per second. */
function tokensOf(id: string, durationSeconds: number): Uint32Array {
  const rand = mulberry32([...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7));
  return Uint32Array.from({ length: Math.round(durationSeconds * 50) }, () => Math.floor(rand() * MODEL.codebookSize));
}

async function writePlan(directory: string, plan: ShardPlan, shards: number[], model = MODEL): Promise<void> {
  for (const j of shards) {
    const utterances: ShardUtterance[] = plan.shards[j]!.map((u) => ({ id: u.id, speaker: u.speaker, text: u.text, durationSeconds: u.durationSeconds, tokens: tokensOf(u.id, u.durationSeconds) }));
    await writeShard(directory, { shard: j, shardCount: plan.shards.length, planHash: plan.hash, model }, utterances, []);
  }
}

describe('token shards', () => {
  const corpus = Array.from({ length: 23 }, (_, i) => utterance(`spk${i % 3}_${String(i).padStart(3, '0')}`, 1 + (i % 4) * 0.5));
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-shards-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('plans the same shards whatever order the listing came in, each filled to the shard size', () => {
    const plan = planShards(corpus, { shardSeconds: 6 });
    const shuffled = planShards([...corpus].reverse(), { shardSeconds: 6 });
    expect(shuffled).to.deep.equal(plan);
    expect(plan.shards.flat().map((u) => u.id)).to.deep.equal(corpus.map((u) => u.id).sort());
    for (const shard of plan.shards.slice(0, -1)) {
      const seconds = shard.reduce((s, u) => s + u.durationSeconds, 0);
      expect(seconds).to.be.at.least(6);
      expect(seconds - shard.at(-1)!.durationSeconds).to.be.below(6);
    }
    expect(planShards(corpus, { shardSeconds: 7 }).hash).to.not.equal(plan.hash);
  });

  it('splits shards among n machines disjointly and completely', () => {
    const n = 3;
    const owned = Array.from({ length: n }, (_, i) => selectedShards(10, parseShardSelector(`${i}/${n}`)));
    expect(owned).to.deep.equal([[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]);
    for (const bad of ['3/3', '1', 'a/b', '-1/2', '0/0']) expect(() => parseShardSelector(bad), bad).to.throw(InputError, '--shard');
  });

  it('writes shards that verify, and finds a truncated or damaged one', async () => {
    const plan = planShards(corpus, { shardSeconds: 6 });
    await writePlan(scratch, plan, [0, 1]);
    const index = await verifyShard(scratch, 0, plan.shards.length);
    expect(index.lengths).to.deep.equal(plan.shards[0]!.map((u) => Math.round(u.durationSeconds * 50)));
    const { bin } = shardPaths(scratch, 0, plan.shards.length);
    truncateSync(bin, 8);
    await verifyShard(scratch, 0, plan.shards.length).then(
      () => expect.fail('a truncated shard verified'),
      (error: unknown) => expect(String(error)).to.include(bin).and.include('incomplete'),
    );
    const damaged = shardPaths(scratch, 1, plan.shards.length).manifest;
    const text = readFileSync(damaged, 'utf8');
    writeFileSync(damaged, text.replace('spk', 'spq'));
    await verifyShard(scratch, 1, plan.shards.length).then(
      () => expect.fail('a damaged shard verified'),
      (error: unknown) => expect(String(error)).to.include(damaged).and.include('checksum'),
    );
  });

  it('merges shards written by several machines into one index and manifest, and reads them back', async () => {
    const plan = planShards(corpus, { shardSeconds: 6 });
    const count = plan.shards.length;
    expect(count).to.be.at.least(4);
    // Two machines, each its own shards.
    await writePlan(scratch, plan, selectedShards(count, { index: 0, count: 2 }));
    await mergeShards(scratch).then(
      () => expect.fail('merged with shards missing'),
      (error: unknown) => expect(String(error)).to.include('1, 3').and.include(`of ${count} missing`),
    );
    await writePlan(scratch, plan, selectedShards(count, { index: 1, count: 2 }));
    const index = await mergeShards(scratch);
    expect(index.utterances).to.equal(corpus.length);
    expect(index.tokens).to.equal(corpus.reduce((n, u) => n + Math.round(u.durationSeconds * 50), 0));
    // Codebook usage over every token, beside what uniform use would touch in as many tokens.
    const distinct = new Set(corpus.flatMap((u) => Array.from(tokensOf(u.id, u.durationSeconds))));
    expect(index.codeUsage).to.include({ tokens: index.tokens, usedCodes: distinct.size, codebookSize: MODEL.codebookSize });
    const K = MODEL.codebookSize;
    expect(index.codeUsage.uniformExpectedCodes).to.be.closeTo(K * (1 - (1 - 1 / K) ** index.tokens), 1e-6 * K);
    const manifest = readFileSync(join(scratch, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; n_tokens: number; shard: number });
    expect(manifest.map((r) => r.id)).to.deep.equal(corpus.map((u) => u.id).sort());

    const reader = await TokenCorpus.open(scratch);
    const seen: string[] = [];
    for await (const u of reader.utterances()) {
      expect(u.tokens, u.id).to.deep.equal(tokensOf(u.id, u.durationSeconds));
      seen.push(u.id);
    }
    expect(seen).to.deep.equal(manifest.map((r) => r.id));

    // Windows inside utterances, and over the joined stream with a separator.
    const all: number[] = [];
    for await (const u of reader.utterances()) all.push(...(all.length > 0 ? [MODEL.codebookSize] : []), ...u.tokens);
    const streamed: number[] = [];
    for await (const w of reader.windows(64, { span: 'stream', separator: MODEL.codebookSize })) streamed.push(...w);
    expect(streamed).to.deep.equal(all.slice(0, Math.floor(all.length / 64) * 64));
    let windows = 0;
    for await (const w of reader.windows(40, { stride: 20 })) {
      expect(w.length).to.equal(40);
      windows++;
    }
    expect(windows).to.equal(corpus.reduce((n, u) => n + Math.max(0, Math.floor((Math.round(u.durationSeconds * 50) - 40) / 20) + 1), 0));
  });

  it('refuses to merge shards from different models, naming both', async () => {
    const plan = planShards(corpus, { shardSeconds: 6 });
    await writePlan(scratch, plan, [0]);
    await writePlan(scratch, plan, selectedShards(plan.shards.length).slice(1), { ...MODEL, hash: 'def456' });
    await mergeShards(scratch).then(
      () => expect.fail('merged two models'),
      (error: unknown) => expect(String(error)).to.include('abc123').and.include('def456'),
    );
  });
});
