import { expect } from 'chai';

import { planItem, seededPermutation, selectVoices } from '../../src/datasets/corpus/build.js';
import { parseBibleOutput } from '../../src/datasets/corpus/text.js';
import { VOICES } from '../../src/datasets/corpus/voices.js';
import { InputError } from '../../src/errors.js';

describe('corpus recipe plan', () => {
  const bibleText = [
    'Ge1:1 In the beginning God created the heaven and the earth.',
    'Ge1:2 And the earth was without form, and void; and darkness was upon the face of the deep.',
    'Ex2:3 And when she could not longer hide him,   she took for him an ark of bulrushes.',
    '1Co13:4 Charity suffereth long, and is kind;',
    'Re22:21 The grace of our Lord Jesus Christ be with you all. Amen.',
    'Re22:21 The grace of our Lord Jesus Christ be with you all. Amen.',
  ].join('\n');

  it('parses `bible -f` output into verses with LibriTTS-style numeric chapters', () => {
    const verses = parseBibleOutput(bibleText);
    expect(verses.map((v) => v.reference)).to.deep.equal(['Ge1:1', 'Ge1:2', 'Ex2:3', '1Co13:4', 'Re22:21']);
    expect(verses.map((v) => v.chapter)).to.deep.equal(['1001', '1001', '2002', '3013', '4022']);
    expect(verses[2].normalized).to.equal('And when she could not longer hide him, she took for him an ark of bulrushes.');
  });

  it('has at least ten distinct voices from all three engines, with stable speaker ids', () => {
    expect(VOICES.length).to.be.at.least(10);
    expect(new Set(VOICES.map((v) => v.engine))).to.deep.equal(new Set(['espeak-ng', 'flite', 'festival']));
    expect(new Set(VOICES.map((v) => `${v.engine} ${v.name}`)).size).to.equal(VOICES.length);
    expect(VOICES.map((v) => v.speaker)).to.deep.equal(VOICES.map((_, i) => String(9000 + i)));
  });

  it('plans each item from (seed, index) alone, so a resumed build repeats it', () => {
    const verses = parseBibleOutput(bibleText);
    const order = seededPermutation(verses.length, 1);
    const first = Array.from({ length: 40 }, (_, i) => planItem(i, 1, VOICES, verses, order));
    const again = [7, 3, 39, 0].map((i) => planItem(i, 1, VOICES, verses, order));
    expect(again).to.deep.equal([first[7], first[3], first[39], first[0]]);
    expect(new Set(first.map((item) => item.utterance)).size).to.equal(40);
    expect(first.slice(0, VOICES.length).map((item) => item.voice.speaker)).to.deep.equal(VOICES.map((v) => v.speaker));
    for (const item of first) {
      expect(item.speed).to.be.within(0.97, 1.03);
      expect(item.eq.gainDb).to.be.within(-4, 4);
      if (item.noiseDb !== null) expect(item.noiseDb).to.be.within(-62, -42);
    }
    const other = planItem(7, 2, VOICES, verses, seededPermutation(verses.length, 2));
    expect(other).to.not.deep.equal(first[7]);
    expect(Array.from(seededPermutation(10, 3)).sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('selects voices by id, engine or name and names unknown ones', () => {
    expect(selectVoices(['flite']).map((v) => v.name)).to.deep.equal(['awb', 'rms', 'slt', 'kal16']);
    expect(selectVoices(['9000', 'voice_kal_diphone']).map((v) => v.speaker)).to.deep.equal(['9000', '9015']);
    expect(() => selectVoices(['9000', 'robot'])).to.throw(InputError, /unknown voice robot/);
  });
});
