/**
 * The desk of a deployment with two ledgers (the seed's monthly one and a weekly one), in real
 * headless Chromium against a real `taizhang run`: each ledger has its own page with its own
 * people and periods in its own cadence, the pages link to each other, an unknown ledger is not
 * found, and a reminder from the weekly page reaches the person as that ledger's reminder.
 */
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../tools/browser.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { until, type Child } from '../helpers/fleet.js';
import { send } from '../helpers/replies.js';
import { DESK_PASSWORD, deskProject, startDesk } from './helpers.js';
import { addLedgers } from '../helpers/config.js';

const mail = useMailStack();
const PASSWORD = DESK_PASSWORD;
const WEEKLY = '重点工作周报台账';
const children: Child[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});

describe('the desk with several ledgers', () => {
  it('shows each ledger on its own page, in its own cadence, and reminds in the ledger of the page', async () => {
    const stack = mail();
    const { p, base } = await deskProject(stack, (d) => {
      addLedgers(d, {
        id: 'weekly', title: WEEKLY,
        schedule: { cadence: 'weekly', first_period: '2020-W26', send_weekday: 1, deadline_weekday: 5 },
        tasks: [{ no: 1, task: '推进重点项目建设', due: '长期', departments: ['办公室'], owners: [d.people[0].name] },
          { no: 2, task: '督查重点工作落实', due: '长期', departments: ['机关总支'], owners: [d.people[2].name] }],
      });
    });
    const [ai, , ma] = p.people as { name: string; email: string }[];
    expect((await p.tick('2020-06-22T09:00:00+08:00')).code).toBe(0);
    const weeklyReq = (await p.inbox(ai.email)).find((m) => (m.subject ?? '').includes(WEEKLY))!;
    await send(stack, p, { from: ai.email, replyTo: weeklyReq, text: '第1项：本周新开工重点项目3个。' });
    expect((await p.tick('2020-06-23T09:00:00+08:00')).code).toBe(0);

    const daemon = await startDesk(p, stack);
    children.push(daemon);
    browser = await launchBrowser();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/l/weekly/?period=2020-W26`);
    await page.fill('#name', 'clerk');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

    // The weekly ledger's page: its title, its week, its two people; a link to the other ledger.
    await page.goto(`${base}/l/weekly/?period=2020-W26`);
    expect(await page.textContent('h1')).toBe(WEEKLY);
    expect(await page.textContent('h2')).toContain('2020年第26周');
    expect(await page.$$eval('#people tr[data-person]', (rows) => rows.map((r) => [r.getAttribute('data-person'), r.getAttribute('data-status')])))
      .toEqual([[ai.name, 'submitted'], [ma.name, 'pending']]);
    expect(await page.textContent('#ledgers')).toContain(p.config.ledgers[0].title);
    // The monthly ledger's page: the same person has not reported there.
    await page.goto(`${base}/l/main/?period=2020-06`);
    expect(await page.getAttribute(`tr[data-person="${ai.name}"]`, 'data-status')).toBe('pending');
    expect((await page.goto(`${base}/l/nope/`))!.status()).toBe(404);

    // A reminder from the weekly page is the weekly ledger's.
    await page.goto(`${base}/l/weekly/?period=2020-W26`);
    await page.click(`tr[data-person="${ma.name}"] a:text("提醒")`);
    await Promise.all([page.waitForNavigation(), page.click('button.primary')]);
    expect(await page.textContent('#result')).toBe('提醒已发出。');
    const reminder = await until('the reminder in ma\'s mailbox', async () => (await p.inbox(ma.email)).find((m) => /【提醒】/.test(m.subject ?? '')), 20_000, 250);
    expect(reminder.subject).toContain(`《${WEEKLY}》2020年第26周`);

    daemon.proc.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  }, 180_000);
});
