/**
 * What an evaluation produces: per-utterance scores, per-system summaries and
 * the report that holds them (report.json is this, as JSON).
 */
import type { SkippedUtterance } from './data-spec.js';

export interface UtteranceScores {
  utterance: string;
  duration_s: number;
  /** bit/s of the encoded file; null for the original audio. */
  bitrate: number | null;
  /** Lag of the decoded audio behind the original that alignment removed, ms. */
  delay_ms: number | null;
  /** How the delay was found: sample-level waveform correlation, or band envelopes for phase-free vocoders. */
  alignment: 'waveform' | 'envelope' | null;
  /** null when too little non-silent audio for one 384 ms STOI segment (or for the original). */
  stoi: number | null;
  mel_distance: number | null;
  stft_distance: number | null;
  si_snr: number | null;
  /** null when no UTMOS model was given. */
  utmos: number | null;
  dnsmos: { sig: number; bak: number; ovrl: number } | null;
  /** This utterance's share of the codebook and its code perplexity, for tokenizers; null otherwise. */
  utilization: number | null;
  perplexity: number | null;
  /** Speed in multiples of real time (audio seconds per wall second); null for the original. */
  rtf: { encode: number; decode: number } | null;
  /** Recognised words against the transcript: word edits and reference words; null without a transcript or recogniser. */
  word_errors: number | null;
  words: number | null;
}

export interface SystemSummary {
  system: string;
  label: string;
  kind: 'model' | 'baseline' | 'original';
  utterances: number;
  nominal_bitrate: number | null;
  /** Total encoded bits over total seconds. */
  bitrate: number | null;
  stoi: number | null;
  mel_distance: number | null;
  stft_distance: number | null;
  si_snr: number | null;
  utmos: number | null;
  dnsmos: { sig: number; bak: number; ovrl: number } | null;
  delay_ms: number | null;
  /** Code usage over the whole set, for tokenizers. */
  codebook_size: number | null;
  codes_used: number | null;
  utilization: number | null;
  perplexity: number | null;
  /** Total audio seconds over total encode (decode) seconds. */
  rtf: { encode: number; decode: number } | null;
  /** Word error rate over the utterances with transcripts (total edits over total reference words). */
  wer: number | null;
}

export interface EvalReport {
  generated_by: string;
  data: string;
  utterances: Array<{ id: string; path: string; duration_s: number; sample_rate: number }>;
  /** Files of the set that could not be scored (unreadable, too short, silent), each with why. */
  skipped: SkippedUtterance[];
  /** Set when no model was evaluated: says why, for the report. */
  model_note: string | null;
  utmos: { model: string | null; note: string };
  dnsmos: { model: string | null; note: string };
  /** The recogniser behind the WER column, or why there is none. */
  asr: { recognizer: string | null; note: string };
  alignment: string;
  systems: SystemSummary[];
  per_utterance: Record<string, UtteranceScores[]>;
}
