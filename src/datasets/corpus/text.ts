/**
 * The corpus text: the King James Version of the Bible (1611; its copyright has
 * long expired, as Debian's bible-kjv-text copyright file notes), read offline
 * with Debian's `bible` program (packages bible-kjv and bible-kjv-text).
 * 31,102 verses, ~790,000 words: ~80 hours at a reading pace, more than the
 * default build needs without repeating a sentence.
 */
import { runChecked } from './process.js';

export interface Sentence {
  /** `Ge1:1` style reference, as `bible` prints it. */
  reference: string;
  /** LibriTTS-style numeric chapter id: book number × 1000 + chapter. */
  chapter: string;
  verse: number;
  original: string;
  normalized: string;
}

export const TEXT_SOURCE =
  'King James Version of the Bible (1611, public domain), Debian packages bible-kjv and bible-kjv-text, printed by `bible -f "Ge1:1-Re22:21"`';

/** Every verse, in canonical order. */
export async function loadKjvVerses(): Promise<Sentence[]> {
  // Options go before the verse spec: `bible` reads anything after it as more specs.
  const text = await runChecked('bible', ['-m', '8192', '-f', 'Ge1:1-Re22:21']);
  return parseBibleOutput(text);
}

/** Parses `bible -f` output: one `Ge1:1 In the beginning ...` line per verse. */
export function parseBibleOutput(text: string): Sentence[] {
  const verses: Sentence[] = [];
  const books = new Map<string, number>();
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^([1-3]?[A-Za-z]+)(\d+):(\d+)\s+(.+)$/.exec(line.trim());
    if (match === null) continue;
    const [, book, chapter, verse, body] = match;
    const reference = `${book}${chapter}:${verse}`;
    if (seen.has(reference)) continue; // `bible` repeats the last verse of a range
    seen.add(reference);
    if (!books.has(book)) books.set(book, books.size + 1);
    const original = body.trim();
    verses.push({
      reference,
      chapter: String(books.get(book)! * 1000 + Number(chapter)),
      verse: Number(verse),
      original,
      normalized: normalizeText(original),
    });
  }
  return verses;
}

/**
 * LibriTTS's normalized transcripts have no markup and single spaces; KJV text
 * has no digits or abbreviations to expand, so whitespace and the bracketed
 * italics markers some editions carry are all there is to clean.
 */
export function normalizeText(text: string): string {
  return text.replace(/[[\]{}]/g, '').replace(/\s+/g, ' ').trim();
}
