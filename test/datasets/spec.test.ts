import { resolve } from 'node:path';

import { expect } from 'chai';

import { InputError } from '../../src/errors.js';
import { parseDataSpec } from '../../src/datasets/index.js';

describe('data specs', () => {
  it('parses libritts with and without subsets', () => {
    expect(parseDataSpec('libritts:/data/LibriTTS')).to.deep.equal({ kind: 'libritts', root: '/data/LibriTTS', subsets: null, text: 'libritts:/data/LibriTTS' });
    const spec = parseDataSpec('libritts:rel/LibriTTS?subset=train-clean-100,dev-clean');
    expect(spec).to.include({ kind: 'libritts', root: resolve('rel/LibriTTS') });
    expect(spec.kind === 'libritts' && spec.subsets).to.deep.equal(['train-clean-100', 'dev-clean']);
  });

  it('parses dir and manifest specs, telling JSONL from CSV', () => {
    expect(parseDataSpec('dir:/audio')).to.include({ kind: 'dir', root: '/audio' });
    expect(parseDataSpec('manifest:/m/train.jsonl')).to.include({ kind: 'manifest', format: 'jsonl' });
    expect(parseDataSpec('manifest:/m/train.CSV')).to.include({ kind: 'manifest', format: 'csv' });
  });

  const bad: [string, RegExp][] = [
    ['', /not a data spec/],
    ['/data/LibriTTS', /not a data spec/],
    ['s3:bucket', /not a data spec/],
    ['dir:', /path is empty/],
    ['libritts:?subset=dev-clean', /path is empty/],
    ['libritts:/d?subset=', /names no subset/],
    ['libritts:/d?speaker=19', /unknown option "speaker"/],
    ['libritts:/d?subset=../x', /not a subset name/],
    ['manifest:/m/list.txt', /\.jsonl or \.csv/],
  ];
  for (const [text, problem] of bad) {
    it(`refuses ${JSON.stringify(text)} with one line naming it`, () => {
      let caught: unknown;
      try {
        parseDataSpec(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(InputError);
      const error = caught as InputError;
      expect(error.message).to.match(problem);
      expect(error.message).to.not.include('\n');
      if (text !== '') expect(error.message.startsWith(text)).to.equal(true);
    });
  }
});
