/**
 * The boundary-click measure: ~1 on audio with no frame structure, large when
 * every frame boundary carries a step, and independent of the signal's level.
 */
import { expect } from 'chai';

import { boundaryJumpRatio } from '../../src/eval/boundaries.js';
import { speech } from './signals.js';

describe('eval: clicks at frame boundaries', () => {
  const hop = 320;
  let audio: Float32Array;
  before(async () => {
    audio = (await speech()).samples;
  });

  it('is ~1 on speech with no frame structure, whatever its level', () => {
    const ratio = boundaryJumpRatio(audio, hop);
    expect(ratio).to.be.within(0.7, 1.3);
    expect(boundaryJumpRatio(audio.map((v) => v * 0.01), hop)).to.be.closeTo(ratio, 1e-6);
  });

  it('grows with a step at every boundary: frames decoded with a gain each', () => {
    // Each frame scaled by its own gain, 0.8 or 1.2: steps where frames meet.
    const stepped = audio.map((v, n) => v * (Math.floor(n / hop) % 2 === 0 ? 0.8 : 1.2));
    expect(boundaryJumpRatio(stepped, hop)).to.be.above(1.5);
    // And a DC offset that changes from frame to frame: a click at each boundary.
    const offset = audio.map((v, n) => v + (Math.floor(n / hop) % 2 === 0 ? 0.02 : -0.02));
    expect(boundaryJumpRatio(offset, hop)).to.be.above(1.5);
  });

  it('pools several clips without counting steps across the joins', () => {
    const halves = [audio.subarray(0, 32000), audio.subarray(32000)];
    const pooled = boundaryJumpRatio(halves, hop);
    expect(pooled).to.be.within(0.7, 1.3);
    // A jump where two clips meet is not a frame boundary of either: joining with an offset changes nothing.
    expect(boundaryJumpRatio([halves[0]!, halves[1]!.map((v) => v + 0.5)], hop)).to.be.closeTo(pooled, 1e-6);
  });

  it('rejects a hop below 2, audio shorter than two frames, and constant audio', () => {
    expect(() => boundaryJumpRatio(audio, 1)).to.throw('hop: must be an integer of at least 2');
    expect(() => boundaryJumpRatio(new Float32Array(600), hop)).to.throw('needs at least two frames');
    expect(() => boundaryJumpRatio(new Float32Array(1000).fill(0.5), hop)).to.throw('is constant');
  });
});
