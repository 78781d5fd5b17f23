/**
 * The demo page in a real headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core; no browser is downloaded). The page's own file path runs
 * the sample: its tokens must equal Node's `encode` of the same file, and its
 * audio, whole-file and streamed, Node's `decode` within 1e-3.
 *
 * Skipped where Chromium is missing, unless SIMVQ_REQUIRE_BROWSER=1 (CI sets
 * it). SIMVQ_UPDATE_SCREENSHOT=1 writes the README's screenshot.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';

import { CHROMIUM, launchChromium } from '../../bench/chromium.js';

import { startDemoServer, type DemoServer } from '../../src/cli/serve.js';
import { Codec } from '../../src/runtime/codec.js';
import { bitsPerCode } from '../../src/tokens/svq-format.js';

const SAMPLE = 'samples/speech-16k.wav';

/** What the page puts on `window` for tests (web/demo/app.ts). */
interface DemoGlobal {
  simvqDemo: { ready: Promise<void>; result: PageResult | null; error: string | null };
}

interface PageResult {
  tokens: number[];
  decoded: number[];
  streamedTokens: number[];
  streamed: number[];
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('the demo page in Chromium', function () {
  this.timeout(300_000);
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  let profile: string;
  const errors: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env['SIMVQ_REQUIRE_BROWSER'] === '1') throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
      this.skip();
    }
    server = await startDemoServer({ port: 0 });
    profile = mkdtempSync(join(tmpdir(), 'simvq-chromium-'));
    browser = await launchChromium(profile);
    page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.setViewport({ width: 1100, height: 1300 });
    await page.goto(server.url);
    await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.ready);
    expect(await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.error)).to.equal(null);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  it("encodes the sample dropped on the page to Node's tokens, and decodes it (whole and streamed) to Node's audio within 1e-3", async () => {
    const input = await page.$('#file');
    await input!.uploadFile(SAMPLE);
    await page.waitForFunction(() => (globalThis as unknown as DemoGlobal).simvqDemo.result !== null || (globalThis as unknown as DemoGlobal).simvqDemo.error !== null, { timeout: 240_000 });
    expect(await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.error)).to.equal(null);
    const result = (await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.result)) as PageResult;

    const codec = await Codec.load();
    const bitrate = bitsPerCode(codec.codebookSize) * codec.frameRate;
    try {
      const tokens = await codec.encodeWavFile(SAMPLE);
      const decoded = await codec.decode(tokens);
      expect(result.tokens).to.deep.equal(Array.from(tokens.codes));
      expect(result.streamedTokens).to.deep.equal(Array.from(tokens.codes));
      expect(maxDifference(result.decoded, decoded)).to.be.below(1e-3);
      expect(maxDifference(result.streamed, decoded)).to.be.below(1e-3);
    } finally {
      await codec.dispose();
    }
    // What the page shows: the measured bitrate of the .svq and both spectrograms.
    expect(await page.$eval('#bitrate', (e) => e.textContent)).to.equal(`${bitrate} bit/s`);
    expect(await page.$eval('#frames', (e) => e.textContent)).to.equal(String(result.tokens.length));
    const comparisons = await page.$$eval('#comparison-clips audio', (players) => players.length);
    expect(comparisons, 'Codec2 and Opus clips where their tools are installed').to.be.at.least(0);
    const screenshot = await page.screenshot({ fullPage: true });
    const target = process.env['SIMVQ_UPDATE_SCREENSHOT'] === '1' ? 'docs/images/demo-page.png' : join(profile, 'demo-page.png');
    writeFileSync(target, screenshot);
    expect(errors).to.deep.equal([]);
  });

  it('says in one line which file it cannot read, and keeps working', async () => {
    const notes = join(profile, 'notes.wav');
    writeFileSync(notes, 'not audio at all');
    await page.evaluate(() => {
      (globalThis as unknown as DemoGlobal).simvqDemo.result = null;
    });
    await (await page.$('#file'))!.uploadFile(notes);
    await page.waitForFunction(() => (globalThis as unknown as DemoGlobal).simvqDemo.error !== null, { timeout: 60_000 });
    expect(await page.evaluate(() => (globalThis as unknown as DemoGlobal).simvqDemo.error)).to.equal('notes.wav: not an audio file this browser can decode');
    expect(await page.$eval('#status', (e) => e.textContent)).to.equal('notes.wav: not an audio file this browser can decode');
  });
});
