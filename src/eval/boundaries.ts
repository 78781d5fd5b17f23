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
 * test/eval/boundaries.test.ts).
 */
import { InputError } from '../errors.js';

export function boundaryJumpRatio(audio: ArrayLike<number>, hop: number): number {
  if (!(Number.isInteger(hop) && hop >= 2)) throw new InputError('hop', `must be an integer of at least 2, got ${hop}`);
  if (audio.length < 2 * hop + 1) throw new InputError('audio', `needs at least two frames of ${hop} samples and one more, got ${audio.length} samples`);
  let boundarySum = 0;
  let boundaryCount = 0;
  let otherSum = 0;
  let otherCount = 0;
  for (let n = 1; n < audio.length; n++) {
    const step = (audio[n]! - audio[n - 1]!) ** 2;
    if (n % hop === 0) {
      boundarySum += step;
      boundaryCount++;
    } else {
      otherSum += step;
      otherCount++;
    }
  }
  const other = otherSum / otherCount;
  if (!(other > 0)) throw new InputError('audio', 'is constant: no steps to compare boundaries against');
  return boundarySum / boundaryCount / other;
}
