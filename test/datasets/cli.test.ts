/**
 * The dataset commands as users run them: `node bin/simvq-audio.js data inspect ...`,
 * `corpus build ...`, `corpus devset ...`.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { expect } from 'chai';

import { expectOneLineError, runCli } from '../helpers/cli.js';

import { loadDataset } from '../../src/datasets/index.js';
import { nanWav, truncatedWav, writeLibriTTSFixture } from './fixtures.js';

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, env);

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

function onPath(program: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((directory) => directory !== '' && existsSync(join(directory, program)));
}

describe('simvq-audio data / corpus', function () {
  this.timeout(60_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-data-cli-'));
    writeLibriTTSFixture(join(scratch, 'LibriTTS'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('data inspect prints counts and ends with one JSON line', async () => {
    const result = await run(['data', 'inspect', `libritts:${join(scratch, 'LibriTTS')}?subset=train-clean-100`]);
    expect(result.code, result.stderr).to.equal(0);
    const report = lastJsonLine(result.stdout);
    expect(report).to.include({ utterances: 7, speakers: 3, bad_files: 0 });
    expect(report['hours']).to.be.a('number').greaterThan(0);
    expect(report['sample_rates']).to.deep.equal({ '16000': 2, '24000': 5 });
    expect(result.stdout).to.match(/speakers +3/);
  });

  it('data inspect counts unreadable files; --decode also finds the ones only a full read shows', async () => {
    const folder = join(scratch, 'mixed');
    mkdirSync(folder);
    writeFileSync(join(folder, 'cut.wav'), truncatedWav(1, 16000));
    writeFileSync(join(folder, 'nan.wav'), nanWav(0.5, 16000));
    for (const name of readdirSync(join(scratch, 'LibriTTS', 'dev-clean', '84', '121123')).filter((n) => n.endsWith('.wav'))) {
      writeFileSync(join(folder, name), readFileSync(join(scratch, 'LibriTTS', 'dev-clean', '84', '121123', name)));
    }
    const headers = await run(['data', 'inspect', `dir:${folder}`]);
    expect(headers.code, headers.stderr).to.equal(0);
    expect(lastJsonLine(headers.stdout)).to.include({ utterances: 3, bad_files: 1 });
    expect(headers.stdout).to.match(/cut\.wav: truncated/);
    const decoded = await run(['data', 'inspect', '--decode', `dir:${folder}`]);
    expect(lastJsonLine(decoded.stdout)).to.include({ utterances: 2, bad_files: 2 });
    expect(decoded.stdout).to.match(/nan\.wav: .*NaN/);
  });

  it('data inspect answers a bad spec, a missing path and an empty dataset with exit 2 and one line', async () => {
    expectOneLineError(await run(['data', 'inspect', 'LibriTTS']), 'LibriTTS', 'not a data spec');
    expectOneLineError(await run(['data', 'inspect', `dir:${join(scratch, 'absent')}`]), 'absent', 'does not exist');
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    expectOneLineError(await run(['data', 'inspect', `dir:${empty}`]), `dir:${empty}`, 'holds no usable WAV audio');
    expectOneLineError(await run(['data', 'inspect', `libritts:${join(scratch, 'LibriTTS')}?subset=dev-other`]), 'no subset dev-other');
  });

  it('corpus build names exactly what is missing when it may not install', async () => {
    const result = await run(['corpus', 'build', '--out', join(scratch, 'never'), '--no-install', '--voices', 'espeak-ng'], { PATH: join(scratch, 'no-such-bin') });
    expectOneLineError(result, 'corpus build: missing sox, bible, espeak-ng;', 'install the Debian packages with: apt-get install -y bible-kjv ', ' espeak-ng sox');
    expect(existsSync(join(scratch, 'never'))).to.equal(false);
  });

  it('corpus build refuses bad options with one line', async () => {
    expectOneLineError(await run(['corpus', 'build', '--out', join(scratch, 'x'), '--hours', 'lots']), '--hours', 'must be a number');
    expectOneLineError(await run(['corpus', 'build', '--out', join(scratch, 'x'), '--hours', '-1']), '--hours', 'positive');
    expectOneLineError(await run(['corpus', 'build', '--out', join(scratch, 'x'), '--jobs', '0']), '--jobs');
    expectOneLineError(await run(['corpus', 'build', '--out', join(scratch, 'x'), '--voices', 'nobody']), '--voices', 'unknown voice nobody');
  });

  it('corpus build makes a small espeak-ng corpus in LibriTTS layout that the loader reads, and resumes', async function () {
    const needed = ['espeak-ng', 'sox', 'bible'];
    const missing = needed.filter((program) => !onPath(program));
    if (missing.length > 0) {
      console.log(`    SKIPPED: needs ${missing.join(', ')} (apt-get install -y espeak-ng sox bible-kjv bible-kjv-text; .ci/run installs them)`);
      this.skip();
    }
    const out = join(scratch, 'corpus');
    const args = ['corpus', 'build', '--out', out, '--hours', '0.004', '--voices', '9000,9001,9002', '--jobs', '2', '--no-install'];
    const first = await run(args);
    expect(first.code, first.stderr).to.equal(0);
    const report = lastJsonLine(first.stdout);
    expect(report).to.include({ voices: 3, failed: 0, sample_rate: 16000 });
    expect(report['hours']).to.be.at.least(0.004);
    expect(report['synthesized']).to.equal(report['utterances']);

    const dataset = await loadDataset(`libritts:${out}?subset=train-synth`);
    expect(dataset.utterances).to.have.length(report['utterances'] as number);
    expect(new Set(dataset.utterances.map((u) => u.speaker))).to.deep.equal(new Set(['9000', '9001', '9002']));
    for (const utterance of dataset.utterances) {
      expect(utterance.sampleRate).to.equal(16000);
      expect(utterance.text).to.be.a('string').and.not.equal('');
      expect(utterance.id.startsWith(`${utterance.speaker}_${utterance.chapter}_`)).to.equal(true);
    }
    expect(dataset.speakers.get('9001')).to.deep.include({ subset: 'train-synth', name: 'espeak-ng en-us+f2' });
    expect(readdirSync(out)).to.not.include('.work');

    // Resuming: everything already there is counted, and at most one utterance per job is added.
    const second = await run(args);
    expect(second.code, second.stderr).to.equal(0);
    const again = lastJsonLine(second.stdout);
    expect(again['synthesized']).to.be.at.most(2);
    expect(again['utterances']).to.equal((report['utterances'] as number) + (again['synthesized'] as number));
  });

  it('corpus devset writes real speech from Debian packages with its sources', async function () {
    if (!existsSync('/usr/share/codec2/wav/hts1a.wav') || !existsSync('/usr/share/pocketsphinx/test/data/librivox/transcription') || !existsSync('/usr/share/sounds/alsa/Front_Center.wav') || !onPath('sox')) {
      console.log('    SKIPPED: needs codec2-examples, pocketsphinx-testdata, alsa-utils and sox (apt-get install -y ...)');
      this.skip();
    }
    const out = join(scratch, 'devset');
    const result = await run(['corpus', 'devset', '--out', out, '--no-install']);
    expect(result.code, result.stderr).to.equal(0);
    const report = lastJsonLine(result.stdout);
    expect(report).to.include({ failed: 0, subset: 'dev-real' });
    const dataset = await loadDataset(`libritts:${out}`);
    expect(dataset.utterances).to.have.length(report['utterances'] as number);
    const sources = readFileSync(join(out, 'SOURCES.tsv'), 'utf8').trim().split('\n');
    expect(sources).to.have.length(dataset.utterances.length + 1);
    for (const line of sources.slice(1)) expect(line.split('\t')[2]).to.be.oneOf(['pocketsphinx-testdata', 'codec2-examples', 'alsa-utils']);
    const librivox = dataset.utterances.find((u) => u.id === '8000_1_000002_000000');
    expect(librivox?.text).to.equal('he was not an ill disposed young man');
  });
});
