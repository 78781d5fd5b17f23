/**
 * An evaluation run: every utterance through every system, scored the same
 * way, then report.json, report.md and the plots.
 *
 * Each (system, utterance) result is cached under OUT/cache as soon as it is
 * computed, keyed by what it depends on (the source file's size and mtime, the
 * MOS model files, the metric definitions), so an interrupted run started again
 * with the same --out picks up where it stopped and a changed input is redone.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import cliProgress from 'cli-progress';

import { readWav, resample, writeWav, type AudioClip } from '../audio/index.js';
import { AudioFileError, InputError } from '../errors.js';
import { describeFsError, pathExists, writeFileAtomic } from '../files.js';
import { alignByCrossCorrelation } from './align.js';
import { setCodeUsage } from './codes.js';
import { listEvalData, type EvalUtterance, type SkippedUtterance } from './data-spec.js';
import { MIN_EVAL_SAMPLES, multiResolutionStftDistance, multiScaleMelDistance, siSnr } from './distances.js';
import { DnsmosModel, UtmosModel, type DnsmosScores } from './mos.js';
import { StoiTooShortError, stoi } from './stoi.js';
import type { EvalReport, SystemSummary, UtteranceScores } from './types.js';
import { wordErrors, type Recognizer } from './wer.js';

export type { EvalReport, SystemSummary, UtteranceScores };
import type { EvalSystem } from './systems.js';

/** Bump when a metric's definition changes: every cached result is then recomputed. */
export const METRICS_VERSION = 3;

export interface EvalRunOptions {
  data: string;
  out: string;
  systems: EvalSystem[];
  /** For the report when `systems` holds no model. */
  modelNote?: string;
  utmos?: string;
  dnsmos?: string;
  /** Replace an existing report in `out`. */
  force?: boolean;
  /** Progress bar on stderr (only drawn on a terminal). Default true. */
  progress?: boolean;
  /** Scores word error rate where utterances have transcripts; a { missing } says why it cannot (the report notes it). Default: none. */
  recognizer?: Recognizer | { missing: string };
  generatedBy?: string;
}

/** The original audio as a row of its own: its MOS is the ceiling the systems are read against. */
const ORIGINAL = 'original';
const MAX_DELAY_SECONDS = 0.25;

interface CacheEntry {
  fingerprint: string;
  scores: UtteranceScores;
  tokens: number[] | null;
  encodedBytes: number | null;
}

export async function runEvaluation(options: EvalRunOptions): Promise<EvalReport> {
  const { out, systems } = options;
  if (systems.length === 0) throw new InputError('--baselines', 'nothing to evaluate: no model and no baselines');
  const reportPath = join(out, 'report.json');
  if (options.force !== true && (await pathExists(reportPath))) {
    throw new InputError(reportPath, 'exists; pass --force to overwrite (an unfinished run resumes without it)');
  }
  const { utterances, skipped } = await listEvalData(options.data);
  // Load the MOS models before any work, so a bad file fails in a second, not after an hour.
  const utmos = options.utmos === undefined ? null : await UtmosModel.load(options.utmos);
  const dnsmos = options.dnsmos === undefined ? null : await DnsmosModel.load(options.dnsmos);
  // Scratch files live under the output directory, so a killed run leaves none in /tmp;
  // whatever one left here is cleared on the next start.
  const scratch = join(out, 'cache', '.work');
  await rm(scratch, { recursive: true, force: true });
  await makeDirectory(scratch);

  // A result depends on the MOS model files too: a different model means a recomputation.
  const models = { utmos: await modelFingerprint(options.utmos), dnsmos: await modelFingerprint(options.dnsmos) };
  const recognizer = options.recognizer !== undefined && 'transcribe' in options.recognizer ? options.recognizer : null;
  const transcribed = utterances.filter(hasTranscript).length;
  const asr = recognizer !== null && transcribed > 0 ? recognizer : null;
  // The original audio is a row of its own when there is a ceiling to read: MOS, or the recogniser's own WER.
  const rows = [...(utmos !== null || dnsmos !== null || asr !== null ? [ORIGINAL] : []), ...systems.map((s) => s.id)];
  const bar = new cliProgress.SingleBar(
    { format: 'eval {bar} {value}/{total} | {row} | {utterance}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const showProgress = options.progress !== false;
  if (showProgress) bar.start(utterances.length * rows.length, 0, { row: '', utterance: '' });

  const perUtterance: Record<string, CacheEntry[]> = Object.fromEntries(rows.map((row) => [row, []]));
  const utteranceInfo: EvalReport['utterances'] = [];
  /** Decoded audio of the first utterance, for the spectrogram plot. */
  const firstUtteranceAudio = new Map<string, Float32Array>();
  try {
    for (const utterance of utterances) {
      const source = await readScorable(utterance);
      if ('problem' in source) {
        // One bad file costs its own row, not the run: the report lists it. Until a
        // file has scored the line waits, so a set with nothing usable gets one error.
        skipped.push(source);
        if (utteranceInfo.length > 0) process.stderr.write(`${utterance.path}: ${source.problem}; skipped\n`);
        if (showProgress) bar.increment(rows.length);
        continue;
      }
      if (utteranceInfo.length === 0) for (const s of skipped) process.stderr.write(`${s.path}: ${s.problem}; skipped\n`);
      const index = utteranceInfo.length;
      utteranceInfo.push({ id: utterance.id, path: utterance.path, duration_s: source.durationSeconds, sample_rate: source.sampleRate });
      if (index === 0) firstUtteranceAudio.set(ORIGINAL, source.samples);
      const sourceStat = await stat(utterance.path);
      for (const row of rows) {
        if (showProgress) bar.update({ row, utterance: utterance.id });
        const system = systems.find((s) => s.id === row) ?? null;
        const fingerprint = JSON.stringify({ METRICS_VERSION, row, size: sourceStat.size, mtime: sourceStat.mtimeMs, models, asr: asr?.name ?? null, text: utterance.text ?? null });
        const cachePath = join(out, 'cache', row, `${safeName(utterance.id)}.json`);
        const decodedPath = join(out, 'cache', row, `${safeName(utterance.id)}.wav`);
        let entry = await readCache(cachePath, fingerprint);
        if (entry === null || (index === 0 && system !== null && !(await pathExists(decodedPath)))) {
          const work = await mkdtemp(join(scratch, `${row}-`));
          const computed = await scoreOne(utterance, source, system, { utmos, dnsmos, asr }, work);
          await rm(work, { recursive: true, force: true });
          entry = { fingerprint, scores: computed.scores, tokens: computed.tokens, encodedBytes: computed.encodedBytes };
          await makeDirectory(join(out, 'cache', row));
          if (index === 0 && computed.aligned !== null) {
            await writeWav(decodedPath, computed.aligned, source.sampleRate, { format: 'float32', force: true });
          }
          await writeFileAtomic(cachePath, JSON.stringify(entry), true);
        }
        if (index === 0 && system !== null) firstUtteranceAudio.set(row, (await readWav(decodedPath)).samples);
        perUtterance[row].push(entry);
        if (showProgress) bar.increment();
      }
    }
  } finally {
    if (showProgress) bar.stop();
    await rm(scratch, { recursive: true, force: true });
    // A run that scored nothing leaves no empty cache folder behind.
    await rmdir(join(out, 'cache')).catch(() => undefined);
    await utmos?.dispose();
    await dnsmos?.dispose();
  }

  if (utteranceInfo.length === 0) {
    const first = skipped[0]!;
    if (skipped.length === 1) throw new InputError(first.path, first.problem);
    throw new InputError(options.data, `nothing to evaluate: all ${skipped.length} files were skipped; the first, ${first.path}: ${first.problem}`);
  }
  const summaries = rows.map((row) => summarise(row, systems.find((s) => s.id === row) ?? null, perUtterance[row]));
  const report: EvalReport = {
    generated_by: options.generatedBy ?? 'simvq-audio eval',
    data: options.data,
    utterances: utteranceInfo,
    skipped,
    model_note: systems.some((s) => s.kind === 'model') ? null : (options.modelNote ?? 'No model was evaluated: the baselines alone.'),
    utmos: {
      model: options.utmos ?? null,
      note: options.utmos === undefined ? 'UTMOS was not computed: no UTMOS model was given (--utmos FILE).' : `UTMOS22 strong from ${options.utmos}.`,
    },
    asr: {
      recognizer: asr?.name ?? null,
      note:
        asr !== null
          ? `WER by ${asr.name} on the ${transcribed} of ${utteranceInfo.length + skipped.length} utterances with transcripts; the Original row is the recogniser's own WER on the source audio.`
          : options.recognizer !== undefined && 'missing' in options.recognizer
            ? options.recognizer.missing
            : transcribed === 0
              ? 'No word error rate: no utterance of the set has a transcript.'
              : 'No word error rate was asked for.',
    },
    dnsmos: {
      model: options.dnsmos ?? null,
      note:
        options.dnsmos === undefined
          ? 'DNSMOS was not computed: no DNSMOS model was given (--dnsmos FILE).'
          : `DNSMOS P.835 from ${options.dnsmos}, published non-personalised calibration.`,
    },
    alignment:
      `Decoded audio is resampled to the original's rate and shifted by the cross-correlation peak within ±${MAX_DELAY_SECONDS * 1000} ms ` +
      'before scoring (delay_ms): of the waveforms when they correlate (normalised peak ≥ 0.5), else of 1 ms band envelopes, ' +
      "since a vocoder such as Codec2 synthesises its own phases.",
    systems: summaries,
    per_utterance: Object.fromEntries(rows.map((row) => [row, perUtterance[row].map((e) => e.scores)])),
  };
  const sampleRate = utteranceInfo[0].sample_rate;
  const usage = systems
    .filter((s) => s.codebookSize !== null)
    .map((s) => ({ label: s.label, counts: setCodeUsage(perUtterance[s.id].map((e) => e.tokens ?? []), s.codebookSize!).counts }));
  // Loaded here: the plotting stack (vega, resvg) is heavy and only the end of a run needs it.
  const { writeReportFiles } = await import('./report.js');
  await writeReportFiles(out, report, { firstUtterance: utteranceInfo[0].id, audio: firstUtteranceAudio, sampleRate, usage });
  return report;
}

/** Whether WER can be scored against the utterance's transcript. */
function hasTranscript(utterance: EvalUtterance): boolean {
  return typeof utterance.text === 'string' && utterance.text.trim() !== '';
}

/** The file's audio, or why it cannot be scored (checked here so the line names the file; the metrics only know signals). */
async function readScorable(utterance: EvalUtterance): Promise<AudioClip | SkippedUtterance> {
  let source: AudioClip;
  try {
    source = await readWav(utterance.path);
  } catch (error) {
    if (error instanceof AudioFileError) return { ...utterance, problem: error.problem };
    throw error;
  }
  if (source.samples.length < MIN_EVAL_SAMPLES) {
    return { ...utterance, problem: `too short to evaluate: ${source.samples.length} samples, at least ${MIN_EVAL_SAMPLES} needed` };
  }
  if (source.samples.every((v) => v === 0)) return { ...utterance, problem: 'silent: there is nothing to evaluate' };
  return source;
}

async function scoreOne(
  utterance: EvalUtterance,
  source: AudioClip,
  system: EvalSystem | null,
  models: { utmos: UtmosModel | null; dnsmos: DnsmosModel | null; asr: Recognizer | null },
  work: string,
): Promise<{ scores: UtteranceScores; tokens: number[] | null; encodedBytes: number | null; aligned: Float32Array | null }> {
  const duration = source.durationSeconds;
  const mos = async (audio: Float32Array): Promise<Pick<UtteranceScores, 'utmos' | 'dnsmos'>> => {
    const dns: DnsmosScores | null = models.dnsmos === null ? null : await models.dnsmos.score(audio, source.sampleRate);
    return {
      utmos: models.utmos === null ? null : await models.utmos.score(audio, source.sampleRate),
      dnsmos: dns === null ? null : { sig: dns.sig, bak: dns.bak, ovrl: dns.ovrl },
    };
  };
  const words = async (audio: Float32Array): Promise<Pick<UtteranceScores, 'word_errors' | 'words'>> => {
    if (models.asr === null || !hasTranscript(utterance)) return { word_errors: null, words: null };
    const { errors, words: count } = wordErrors(utterance.text!, await models.asr.transcribe(audio, source.sampleRate, work));
    return { word_errors: errors, words: count };
  };
  if (system === null) {
    const scores: UtteranceScores = {
      utterance: utterance.id,
      duration_s: duration,
      bitrate: null,
      delay_ms: null,
      alignment: null,
      stoi: null,
      mel_distance: null,
      stft_distance: null,
      si_snr: null,
      ...(await mos(source.samples)),
      utilization: null,
      perplexity: null,
      rtf: null,
      ...(await words(source.samples)),
    };
    return { scores, tokens: null, encodedBytes: null, aligned: null };
  }
  const trip = await system.roundTrip(source.samples, source.sampleRate, work);
  const usage = trip.tokens === undefined || system.codebookSize === null ? null : setCodeUsage([trip.tokens], system.codebookSize);
  const decoded = trip.sampleRate === source.sampleRate ? trip.audio : await resample(trip.audio, trip.sampleRate, source.sampleRate);
  const { aligned, delaySeconds, method } = alignByCrossCorrelation(source.samples, decoded, source.sampleRate, MAX_DELAY_SECONDS);
  let stoiScore: number | null;
  try {
    stoiScore = stoi(source.samples, aligned, source.sampleRate);
  } catch (error) {
    if (!(error instanceof StoiTooShortError)) throw error;
    stoiScore = null;
  }
  const scores: UtteranceScores = {
    utterance: utterance.id,
    duration_s: duration,
    bitrate: (trip.encodedBytes * 8) / duration,
    delay_ms: delaySeconds * 1000,
    alignment: method,
    stoi: stoiScore,
    mel_distance: multiScaleMelDistance(source.samples, aligned, source.sampleRate),
    stft_distance: multiResolutionStftDistance(source.samples, aligned),
    si_snr: siSnr(source.samples, aligned),
    ...(await mos(aligned)),
    utilization: usage?.utilization ?? null,
    perplexity: usage?.perplexity ?? null,
    rtf: { encode: duration / trip.encodeSeconds, decode: duration / trip.decodeSeconds },
    ...(await words(aligned)),
  };
  const tokens = trip.tokens === undefined ? null : Array.from(trip.tokens);
  return { scores, tokens, encodedBytes: trip.encodedBytes, aligned };
}

function mean(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0) / present.length;
}

function summarise(row: string, system: EvalSystem | null, entries: CacheEntry[]): SystemSummary {
  const scores = entries.map((e) => e.scores);
  const seconds = scores.reduce((total, s) => total + s.duration_s, 0);
  const usage = system?.codebookSize == null ? null : setCodeUsage(entries.map((e) => e.tokens ?? []), system.codebookSize);
  const dnsmos = scores.every((s) => s.dnsmos !== null)
    ? {
        sig: mean(scores.map((s) => s.dnsmos!.sig))!,
        bak: mean(scores.map((s) => s.dnsmos!.bak))!,
        ovrl: mean(scores.map((s) => s.dnsmos!.ovrl))!,
      }
    : null;
  const timed = scores.every((s) => s.rtf !== null);
  const transcribed = scores.filter((s) => s.words !== null && s.words !== undefined && s.words > 0);
  const referenceWords = transcribed.reduce((n, s) => n + s.words!, 0);
  return {
    system: row,
    label: system?.label ?? 'Original',
    kind: system?.kind ?? 'original',
    utterances: scores.length,
    nominal_bitrate: system?.nominalBitrate ?? null,
    bitrate: system === null ? null : entries.reduce((bits, e) => bits + (e.encodedBytes ?? 0) * 8, 0) / seconds,
    stoi: mean(scores.map((s) => s.stoi)),
    mel_distance: mean(scores.map((s) => s.mel_distance)),
    stft_distance: mean(scores.map((s) => s.stft_distance)),
    si_snr: mean(scores.map((s) => s.si_snr)),
    utmos: scores.every((s) => s.utmos !== null) ? mean(scores.map((s) => s.utmos)) : null,
    dnsmos,
    delay_ms: mean(scores.map((s) => s.delay_ms)),
    codebook_size: usage?.codebookSize ?? null,
    codes_used: usage?.usedCodes ?? null,
    utilization: usage?.utilization ?? null,
    perplexity: usage?.perplexity ?? null,
    // Total time over total audio, so long utterances weigh as much as they cost.
    rtf: timed
      ? {
          encode: seconds / scores.reduce((t, s) => t + s.duration_s / s.rtf!.encode, 0),
          decode: seconds / scores.reduce((t, s) => t + s.duration_s / s.rtf!.decode, 0),
        }
      : null,
    wer: referenceWords === 0 ? null : transcribed.reduce((n, s) => n + s.word_errors!, 0) / referenceWords,
  };
}

async function readCache(path: string, fingerprint: string): Promise<CacheEntry | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const entry = JSON.parse(text) as CacheEntry;
    return entry.fingerprint === fingerprint && typeof entry.scores === 'object' ? entry : null;
  } catch {
    return null; // a damaged entry is recomputed, never trusted
  }
}

async function modelFingerprint(path: string | undefined): Promise<string | null> {
  if (path === undefined) return null;
  const info = await stat(path);
  return `${path}:${info.size}:${info.mtimeMs}`;
}

async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw new InputError(path, describeFsError(error, 'write'));
  }
}

/** Utterance ids hold '/' (sub-folders); cache files live flat per system. */
function safeName(id: string): string {
  // The hash keeps 'a/b' and 'a_b' apart after the replacement.
  return `${id.replace(/[^A-Za-z0-9._-]/g, '_')}-${createHash('sha1').update(id).digest('hex').slice(0, 8)}`;
}
