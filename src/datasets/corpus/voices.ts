/**
 * The synthetic voices of the corpus recipe: Debian's English synthesisers, each
 * voice a LibriTTS "speaker". Speaker ids are 9000 + the position in this list,
 * so append new voices at the end: reordering would renumber a built corpus.
 *
 * Every voice is its own synthesis model (espeak-ng's formant voices and
 * variants, flite's clustergen/diphone voices, festival's diphone and HTS
 * voices). flite's slt and festival's HTS slt come from the same CMU ARCTIC
 * speaker through different engines; a speaker-disjoint split keeps them apart
 * as two speakers, which is what they sound like.
 */
export type Engine = 'espeak-ng' | 'flite' | 'festival';

export interface Voice {
  /** LibriTTS-style numeric speaker id, as a string. */
  speaker: string;
  engine: Engine;
  /** espeak-ng: `voice+variant`; flite: `-voice` name; festival: the voice's Scheme function name. */
  name: string;
  sex: 'F' | 'M';
  /** espeak-ng words per minute / flite and festival duration stretch, before per-utterance jitter. */
  baseRate: number;
  /** espeak-ng pitch 0-99 / flite mean F0 in Hz; festival voices are shifted by sox instead. */
  basePitch: number;
}

interface VoiceEntry {
  engine: Engine;
  name: string;
  sex: 'F' | 'M';
  baseRate: number;
  basePitch: number;
}

const ENTRIES: readonly VoiceEntry[] = [
  { engine: 'espeak-ng', name: 'en-us+m1', sex: 'M', baseRate: 160, basePitch: 45 },
  { engine: 'espeak-ng', name: 'en-us+f2', sex: 'F', baseRate: 165, basePitch: 55 },
  { engine: 'espeak-ng', name: 'en-gb+m3', sex: 'M', baseRate: 155, basePitch: 40 },
  { engine: 'espeak-ng', name: 'en-gb+f3', sex: 'F', baseRate: 160, basePitch: 60 },
  { engine: 'espeak-ng', name: 'en-gb-scotland+m4', sex: 'M', baseRate: 150, basePitch: 45 },
  { engine: 'espeak-ng', name: 'en-gb-x-rp+f4', sex: 'F', baseRate: 160, basePitch: 50 },
  { engine: 'espeak-ng', name: 'en-029+m7', sex: 'M', baseRate: 165, basePitch: 50 },
  { engine: 'espeak-ng', name: 'en-us-nyc+f5', sex: 'F', baseRate: 170, basePitch: 55 },
  { engine: 'espeak-ng', name: 'en-gb-x-gbcwmd+m2', sex: 'M', baseRate: 150, basePitch: 40 },
  { engine: 'espeak-ng', name: 'en-us+klatt4', sex: 'F', baseRate: 160, basePitch: 55 },
  { engine: 'espeak-ng', name: 'en-gb-x-gbclan+klatt2', sex: 'M', baseRate: 155, basePitch: 45 },
  { engine: 'flite', name: 'awb', sex: 'M', baseRate: 1.0, basePitch: 110 },
  { engine: 'flite', name: 'rms', sex: 'M', baseRate: 1.0, basePitch: 100 },
  { engine: 'flite', name: 'slt', sex: 'F', baseRate: 1.0, basePitch: 180 },
  { engine: 'flite', name: 'kal16', sex: 'M', baseRate: 1.0, basePitch: 105 },
  { engine: 'festival', name: 'voice_kal_diphone', sex: 'M', baseRate: 1.0, basePitch: 0 },
  { engine: 'festival', name: 'voice_ked_diphone', sex: 'M', baseRate: 1.0, basePitch: 0 },
  { engine: 'festival', name: 'voice_cmu_us_slt_arctic_hts', sex: 'F', baseRate: 1.0, basePitch: 0 },
];

export const VOICES: readonly Voice[] = ENTRIES.map((entry, index) => ({ ...entry, speaker: String(9000 + index) }));

/** A readable name for SPEAKERS.txt and reports: `espeak-ng en-us+m1`. */
export function voiceLabel(voice: Voice): string {
  return `${voice.engine} ${voice.name}`;
}

/** The Debian package that provides each engine's voice (what apt-get must install). */
export function packagesFor(voice: Voice): string[] {
  switch (voice.engine) {
    case 'espeak-ng':
      return ['espeak-ng'];
    case 'flite':
      return ['flite'];
    case 'festival': {
      const voicePackage: Record<string, string> = {
        voice_kal_diphone: 'festvox-kallpc16k',
        voice_ked_diphone: 'festvox-kdlpc16k',
        voice_cmu_us_slt_arctic_hts: 'festvox-us-slt-hts',
      };
      return ['festival', voicePackage[voice.name] ?? 'festival'];
    }
  }
}
