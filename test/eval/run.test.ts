import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { encodeWav, readWav } from '../../src/audio/index.js';
import {
  codec2System,
  listEvalUtterances,
  opusSystem,
  runEvaluation,
  tokenizerSystem,
  type EvalReport,
  type EvalSystem,
} from '../../src/eval/index.js';
import { CALIBRATED_BAK, CALIBRATED_OVRL, dnsmosLikeModel, utmosLikeModel } from './mos-models.js';
import { modulatedTone, SPEECH_PATH } from './signals.js';
import { codecToolsAvailable, mulawTokenizer } from './tools.js';

/** Counts round trips, to see what a resumed run recomputes. */
function counted(system: EvalSystem): EvalSystem & { calls: number } {
  const wrapper = { ...system, calls: 0 };
  wrapper.roundTrip = (samples, rate, work) => {
    wrapper.calls++;
    return system.roundTrip(samples, rate, work);
  };
  return wrapper;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

describe('eval: a whole run, its report, plots and resume', function () {
  this.timeout(60_000);
  let dir = '';
  let data = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simvq-run-'));
    data = join(dir, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    await copyFile(SPEECH_PATH, join(data, 'speech.wav'));
    await writeFile(join(data, 'sub', 'tone.wav'), encodeWav(modulatedTone(16_000, 1.5), 16_000, 'pcm16'));
    await writeFile(join(dir, 'utmos.onnx'), utmosLikeModel());
    await writeFile(join(dir, 'dnsmos.onnx'), dnsmosLikeModel());
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('lists a directory, a list file and a single file as utterances, and names a bad spec', async () => {
    expect((await listEvalUtterances(`dir:${data}`)).map((u) => u.id)).to.deep.equal(['speech', 'sub/tone']);
    await writeFile(join(dir, 'list.txt'), '# eval set\ndata/sub/tone.wav\n\ndata/speech.wav\n');
    expect((await listEvalUtterances(`list:${join(dir, 'list.txt')}`)).map((u) => u.id)).to.deep.equal(['data/sub/tone', 'data/speech']);
    expect(await listEvalUtterances(join(data, 'speech.wav'))).to.have.length(1);
    const failure = await listEvalUtterances(join(dir, 'missing')).catch((error: Error) => error.message);
    expect(failure).to.equal(`${join(dir, 'missing')}: --data: file not found`);
  });

  it('scores a tokenizer and Codec2/Opus the same way, with UTMOS and DNSMOS, and writes report.md, report.json and three plots', async function () {
    if (!codecToolsAvailable()) this.skip();
    const out = join(dir, 'out');
    const systems = [tokenizerSystem(mulawTokenizer()), codec2System('1200'), opusSystem(6)];
    const report = await runEvaluation({ data: `dir:${data}`, out, systems, utmos: join(dir, 'utmos.onnx'), dnsmos: join(dir, 'dnsmos.onnx'), progress: false });

    const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as EvalReport;
    expect(json.systems.map((s) => s.system)).to.deep.equal(['original', 'mulaw-8k', 'codec2-1200', 'opus-6k']);
    expect(json.model_note).to.equal(null);
    const [original, mulaw, codec2, opus] = json.systems;

    // The UTMOS column is the model's output: 1 + 4 · mean |x| of the 16 kHz source.
    const speech = (await readWav(SPEECH_PATH)).samples;
    const speechUtmos = 1 + (4 * speech.reduce((a, v) => a + Math.abs(v), 0)) / speech.length;
    expect(json.per_utterance['original'][0].utmos).to.be.closeTo(speechUtmos, 1e-4);
    expect(original.bitrate).to.equal(null);
    for (const s of json.systems) {
      expect(s.dnsmos!.bak, s.system).to.be.closeTo(CALIBRATED_BAK, 1e-6);
      expect(s.dnsmos!.ovrl, s.system).to.be.closeTo(CALIBRATED_OVRL, 1e-6);
    }

    const seconds = report.utterances.reduce((t, u) => t + u.duration_s, 0);
    // μ-law: one byte per 8 kHz sample plus an 8-byte header per file.
    expect(mulaw.bitrate).to.be.closeTo(64_000 + (2 * 8 * 8) / seconds, 50);
    expect(mulaw.codebook_size).to.equal(256);
    expect(mulaw.utilization).to.equal(mulaw.codes_used! / 256);
    expect(mulaw.codes_used).to.be.above(100);
    expect(mulaw.perplexity).to.be.within(10, 256);
    expect(mulaw.stoi).to.be.above(0.9);
    const perUtterance = json.per_utterance['mulaw-8k'];
    expect(perUtterance[0].utilization).to.be.within(0.3, mulaw.utilization!);
    expect(perUtterance[0].perplexity).to.be.above(10);
    expect(json.per_utterance['codec2-1200'][0].utilization).to.equal(null);
    expect(mulaw.delay_ms).to.be.closeTo(0, 0.2);
    // Codec2 1200: 48-bit frames every 40 ms, written as 6 bytes; it delays its output.
    expect(codec2.bitrate).to.be.closeTo(1200, 30);
    expect(codec2.delay_ms).to.be.above(1);
    expect(codec2.stoi).to.be.within(0.4, mulaw.stoi!);
    expect(codec2.utilization).to.equal(null);
    expect(opus.nominal_bitrate).to.equal(6000);
    expect(opus.bitrate).to.be.within(5000, 9000);
    for (const s of [mulaw, codec2, opus]) {
      expect(s.rtf!.encode).to.be.above(0);
      expect(s.mel_distance).to.be.above(0);
      expect(json.per_utterance[s.system]).to.have.length(2);
    }

    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).to.include('UTMOS ↑').and.include('DNSMOS SIG/BAK/OVRL ↑').and.include('| Codec2 1200 | 1.');
    expect(markdown).to.include(`| Original | — | — | — | — | — | — | ${original.utmos!.toFixed(2)} |`);
    expect(markdown).to.include('(best baseline by STOI)');
    for (const png of ['bitrate-vs-quality.png', 'spectrograms.png', 'code-usage.png']) {
      expect(Array.from((await readFile(join(out, png))).subarray(0, 4)), png).to.deep.equal(PNG_SIGNATURE);
    }

    // A finished report is not replaced without force.
    const again = await runEvaluation({ data: `dir:${data}`, out, systems, progress: false }).catch((error: Error) => error.message);
    expect(again).to.equal(`${join(out, 'report.json')}: exists; pass --force to overwrite (an unfinished run resumes without it)`);
  });

  it('resumes from its per-utterance cache, recomputing only what is missing', async () => {
    const out = join(dir, 'resume');
    const first = counted(tokenizerSystem(mulawTokenizer()));
    await runEvaluation({ data: `dir:${data}`, out, systems: [first], progress: false });
    expect(first.calls).to.equal(2);
    expect((await readFile(join(out, 'report.md'), 'utf8'))).to.include('UTMOS was not computed');

    const second = counted(tokenizerSystem(mulawTokenizer()));
    const before = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as EvalReport;
    await runEvaluation({ data: `dir:${data}`, out, systems: [second], progress: false, force: true });
    expect(second.calls).to.equal(0);

    const cached = (await readdir(join(out, 'cache', 'mulaw-8k'))).filter((f) => f.startsWith('sub_tone') && f.endsWith('.json'));
    await unlink(join(out, 'cache', 'mulaw-8k', cached[0]));
    const third = counted(tokenizerSystem(mulawTokenizer()));
    const after = await runEvaluation({ data: `dir:${data}`, out, systems: [third], progress: false, force: true });
    expect(third.calls).to.equal(1);
    expect(after.systems[0].stoi).to.be.closeTo(before.systems[0].stoi!, 1e-9);
  });
});
