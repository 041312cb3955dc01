/**
 * A real headless browser for tests: Debian's Chromium, installed with apt-get when missing
 * (browsers cannot be downloaded here), driven through playwright-core.
 */
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianPackages } from './apt.js';

export const CHROMIUM_BIN = '/usr/bin/chromium';

export async function ensureChromium(log?: (s: string) => void): Promise<void> {
  await ensureDebianPackages('browser (Chromium)', ['chromium'], [CHROMIUM_BIN], log);
}

/**
 * Starts headless Chromium with a fresh, temporary profile. The network flags keep it from
 * calling out: this machine's network is closed, and every refused connection slows it down.
 */
export async function launchBrowser(): Promise<Browser> {
  await ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
