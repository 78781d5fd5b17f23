/**
 * Headless Chromium from Debian's `chromium` package, driven by puppeteer-core
 * (nothing is downloaded), as this machine allows it: no sandbox as root, no
 * background networking (no outside host is reachable, and Chromium would keep
 * trying). Used by the browser test and bench:browser.
 */
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchChromium(profile: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      `--user-data-dir=${profile}`,
    ],
  });
}
