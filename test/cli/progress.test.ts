/** Progress of long CLI jobs: a bar on a terminal, plain lines when piped, nothing with --no-progress. */
import { PassThrough } from 'node:stream';

import { expect } from 'chai';

import { JobProgress } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let written = '';
  stream.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  Object.assign(stream, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream, text: () => written };
}

describe('cli: job progress', () => {
  it('piped: plain lines with audio-seconds, percent, speed and ETA, no escape codes; a closing line', async () => {
    const { stream, text } = fakeStream(false);
    const progress = new JobProgress({ label: 'encode', total: 600, unit: 'audio-s', enabled: true, stream, lineEverySeconds: 0 });
    progress.advance(150, 'a.wav');
    progress.advance(150, 'a.wav');
    progress.finish();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = text().trim().split('\n');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(/^encode: 150\/600 audio-s \(25 %\), [\d.]+x real time, ETA \S+$/);
    expect(lines[2]).to.match(/^encode: 300\/600 audio-s \(50 %\)/);
    expect(text()).to.not.include('\u001b[');
  });

  it('piped and short: nothing at all (no line before the first interval)', async () => {
    const { stream, text } = fakeStream(false);
    const progress = new JobProgress({ label: 'decode', total: 10, unit: 'audio-s', enabled: true, stream });
    progress.advance(10);
    progress.finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).to.equal('');
  });

  it('on a terminal: a bar drawn in place; with --no-progress: nothing', async () => {
    const terminal = fakeStream(true);
    const bar = new JobProgress({ label: 'tokenize', total: 100, unit: 'audio-s', enabled: true, stream: terminal.stream });
    bar.advance(40, '3/9 files');
    bar.finish();
    const off = fakeStream(true);
    const silent = new JobProgress({ label: 'tokenize', total: 100, unit: 'audio-s', enabled: false, stream: off.stream });
    silent.advance(40);
    silent.finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(terminal.text()).to.include('tokenize').and.include('/100 audio-s');
    expect(off.text()).to.equal('');
  });
});
