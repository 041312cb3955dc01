import { expect, test } from 'vitest';
import { launchBrowser } from '../../tools/browser.js';

test('Debian Chromium starts headless and renders a Chinese page', async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 360, height: 640 } });
    await page.setContent('<meta charset="utf-8"><h1>工作台账</h1>');
    expect(await page.textContent('h1')).toBe('工作台账');
    expect((await page.screenshot()).subarray(1, 4).toString()).toBe('PNG');
  } finally {
    await browser.close();
  }
});
