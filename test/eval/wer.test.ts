/** Word error rate: the word alignment itself, and eval's WER column with Debian's PocketSphinx. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { opusSystem } from '../../src/eval/systems.js';
import { runEvaluation, type EvalReport } from '../../src/eval/run.js';
import { normalizeWords, pocketsphinx, wordErrors } from '../../src/eval/wer.js';
import { codecToolsAvailable } from './tools.js';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

describe('eval: word error rate', function () {
  this.timeout(300_000);

  it('counts substitutions, deletions and insertions over normalised words', () => {
    expect(normalizeWords("The cat's  hat, 'quoted' -- 42!")).to.deep.equal(["the", "cat's", 'hat', 'quoted', '42']);
    expect(wordErrors('the cat sat', 'The cat sat.')).to.deep.equal({ errors: 0, words: 3 });
    expect(wordErrors('the cat sat', 'a cat sat')).to.deep.equal({ errors: 1, words: 3 });
    expect(wordErrors('the cat sat', 'cat sat on')).to.deep.equal({ errors: 2, words: 3 });
    expect(wordErrors('the cat sat', '')).to.deep.equal({ errors: 3, words: 3 });
    expect(wordErrors('', 'noise')).to.deep.equal({ errors: 1, words: 0 });
  });

  it('eval scores WER with PocketSphinx where a manifest has transcripts, the original audio as the recogniser\'s own row', async function () {
    const recognizer = pocketsphinx();
    const ready = 'transcribe' in recognizer && existsSync(join(LIBRIVOX, 'transcription')) && codecToolsAvailable();
    if (!ready) {
      if (process.env['SIMVQ_REQUIRE_CODEC_TOOLS'] === '1') expect.fail('missing' in recognizer ? recognizer.missing : 'pocketsphinx-testdata or opus-tools is missing');
      this.skip();
    }
    const dir = await mkdtemp(join(tmpdir(), 'simvq-wer-'));
    try {
      // Two LibriVox clips with their transcripts, and one clip without a transcript.
      const lines = (await readFile(join(LIBRIVOX, 'transcription'), 'utf8')).trim().split('\n').slice(0, 2);
      const rows = lines.map((line) => {
        const [, text, id] = /^<s> (.*) <\/s> \((.*)\)$/.exec(line)!;
        return { id, path: join(LIBRIVOX, `${id}.wav`), text };
      });
      rows.push({ id: 'untranscribed', path: join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0890.wav'), text: '' });
      const manifest = join(dir, 'set.jsonl');
      await writeFile(manifest, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const out = join(dir, 'out');
      await runEvaluation({ data: `manifest:${manifest}`, out, systems: [opusSystem(6)], recognizer, progress: false });
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as EvalReport;
      expect(report.asr.recognizer).to.match(/PocketSphinx/);
      expect(report.asr.note).to.include('2 of 3 utterances with transcripts');
      const [original, opus] = report.systems;
      expect(original!.system).to.equal('original');
      expect(original!.wer).to.be.within(0, 0.6);
      expect(opus!.wer).to.be.within(0, 1.2);
      const perUtterance = report.per_utterance['opus-6k']!;
      expect(perUtterance.filter((u) => u.words !== null)).to.have.length(2);
      expect(perUtterance.find((u) => u.utterance === 'untranscribed')!.words).to.equal(null);
      expect(await readFile(join(out, 'report.md'), 'utf8')).to.include('WER % ↓');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
