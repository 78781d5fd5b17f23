/**
 * Clicks at frame boundaries: a codec that decodes frame by frame without
 * overlap can jump where one frame's audio meets the next. The sample-to-
 * sample step |y[n] − y[n−1]| measures it: on clean audio its mean square is
 * the same at frame boundaries as anywhere else, so
 *
 *   ratio = mean (y[b] − y[b−1])² over boundaries b = hop, 2·hop, …
 *           ─────────────────────────────────────────────────────────
 *           mean (y[n] − y[n−1])² over every other n
 *
 * is ~1 without boundary artefacts and grows with them (on the speech sample
 * with 320-sample frames: 1.0 as it is, 1.7 with the frames scaled by 0.8 and
 * 1.2 in turn, 2.1 with an offset of +0.02 and −0.02 in turn;
 * test/eval/boundaries.test.ts). On a few seconds of speech the figure
 * wanders by ~±0.3 (a 4 s clip has 200 boundaries); pool a set of clips.
 */
import { InputError } from '../errors.js';

/**
 * The ratio over one clip, or pooled over several (each clip's steps counted
 * within it: no step across the joins). Every clip needs two frames and one
 * more sample.
 */
export function boundaryJumpRatio(audio: ArrayLike<number> | readonly ArrayLike<number>[], hop: number): number {
  if (!(Number.isInteger(hop) && hop >= 2)) throw new InputError('hop', `must be an integer of at least 2, got ${hop}`);
  const clips = isClipList(audio) ? audio : [audio];
  if (clips.length === 0) throw new InputError('audio', 'no clips given');
  let boundarySum = 0;
  let boundaryCount = 0;
  let otherSum = 0;
  let otherCount = 0;
  for (const clip of clips) {
    if (clip.length < 2 * hop + 1) throw new InputError('audio', `needs at least two frames of ${hop} samples and one more, got ${clip.length} samples`);
    for (let n = 1; n < clip.length; n++) {
      const step = (clip[n]! - clip[n - 1]!) ** 2;
      if (n % hop === 0) {
        boundarySum += step;
        boundaryCount++;
      } else {
        otherSum += step;
        otherCount++;
      }
    }
  }
  const other = otherSum / otherCount;
  if (!(other > 0)) throw new InputError('audio', 'is constant: no steps to compare boundaries against');
  return boundarySum / boundaryCount / other;
}

function isClipList(audio: ArrayLike<number> | readonly ArrayLike<number>[]): audio is readonly ArrayLike<number>[] {
  return Array.isArray(audio) && (audio.length === 0 || typeof audio[0] !== 'number');
}
