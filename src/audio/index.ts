/**
 * Audio in and features out: WAV I/O, resampling, STFT / iSTFT and mel features.
 */
export {
  decodeWav,
  encodeWav,
  readWav,
  writeWav,
  writeWavStream,
  type AudioClip,
  type ReadWavOptions,
  type WavFormat,
  type WriteWavOptions,
} from './wav.js';
export { resample, type ResampleQuality } from './resample.js';
export {
  hannWindow,
  istft,
  magnitude,
  powerSpectrogram,
  stft,
  type IstftOptions,
  type PadMode,
  type Spectrogram,
  type StftOptions,
} from './stft.js';
export {
  hzToMel,
  logMelSpectrogram,
  melFilterbank,
  melToHz,
  type LogMelOptions,
  type LogMelSpectrogram,
  type MelFilterbankOptions,
  type MelNorm,
  type MelScale,
} from './mel.js';
