/**
 * Every HTML mail, rendered in real headless Chromium at a phone's width (360 px) and a webmail
 * pane's (600 px), checked for structure, not pixels: nothing wider than the screen, tables for
 * layout (no CSS flex, grid, float or positioning), text at 14 px or more. And, read as written,
 * what Outlook's Word renderer needs: no <style> or classes to lose, inline styles, tables with a
 * width attribute. The PNGs are kept in a temporary folder to look at.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, DomUtils } from 'htmlparser2';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Templates } from '../../src/mail/templates.js';
import { launchBrowser } from '../../tools/browser.js';
import { MAIL_SAMPLES } from '../helpers/mail-samples.js';

const WIDTHS = [360, 600];
const PNG_DIR = path.join(os.tmpdir(), 'taizhang-mail-png');
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  mkdirSync(PNG_DIR, { recursive: true });
}, 600_000);
afterAll(async () => { await browser?.close(); });

const rendered = MAIL_SAMPLES.map(([kind, name, data]) => ({ kind, name, html: new Templates().render(kind, data).html! }));

/** What the page measures: overflow, layout by CSS, and text smaller than 14 px. */
interface Layout { scrollWidth: number; tablesRight: number[]; cssLayout: string[]; smallText: string[] }

function measure(): Layout {
  const cssLayout: string[] = [];
  const smallText: string[] = [];
  for (const el of Array.from(document.body.querySelectorAll('*'))) {
    const s = getComputedStyle(el);
    if (/flex|grid/.test(s.display) || s.float !== 'none' || s.position !== 'static') cssLayout.push(`${el.tagName}: ${s.display} ${s.float} ${s.position}`);
    const ownText = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim() !== '');
    if (ownText && parseFloat(s.fontSize) < 14) smallText.push(`${el.tagName} ${s.fontSize}: ${(el.textContent ?? '').slice(0, 20)}`);
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    tablesRight: Array.from(document.querySelectorAll('table')).map((t) => t.getBoundingClientRect().right),
    cssLayout, smallText,
  };
}

describe.each(WIDTHS)('HTML mail at %i px', (width) => {
  it.each(rendered.map((r) => [`${r.kind} (${r.name})`, r] as const))('%s fits, lays out with tables, reads at 14 px', async (label, r) => {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    try {
      await page.setContent(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head><body style="margin:8px">${r.html}</body></html>`);
      const m = await page.evaluate(measure);
      expect(m.scrollWidth, label).toBeLessThanOrEqual(width);
      for (const right of m.tablesRight) expect(right, label).toBeLessThanOrEqual(width);
      expect(m.cssLayout, label).toEqual([]);
      expect(m.smallText, label).toEqual([]);
      await page.screenshot({ path: path.join(PNG_DIR, `${r.kind}-${r.name.replace(/[^a-z]+/g, '-')}-${width}.png`), fullPage: true });
    } finally {
      await page.close();
    }
  }, 120_000);
});

describe('HTML mail for Outlook’s Word renderer, as written', () => {
  it.each(rendered.map((r) => [`${r.kind} (${r.name})`, r] as const))('%s: inline styles only, tables with a width attribute, no CSS layout', (label, r) => {
    const doc = parseDocument(r.html);
    expect(DomUtils.getElementsByTagName('style', doc), label).toHaveLength(0);
    const all = DomUtils.findAll(() => true, doc.children);
    expect(all.filter((e) => e.attribs.class !== undefined).map((e) => e.name), label).toEqual([]);
    for (const t of DomUtils.getElementsByTagName('table', doc)) expect(t.attribs.width, label).toBe('100%');
    const styles = all.map((e) => e.attribs.style ?? '').join(';');
    expect(styles, label).not.toMatch(/display\s*:\s*(flex|grid|inline-flex|inline-grid)|float\s*:|position\s*:|max-width|calc\(/);
  });
});
