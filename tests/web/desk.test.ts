/**
 * The clerk's desk in real headless Chromium against a real `taizhang run` with `web:` and the
 * real mail servers: June 2020 of the seed with a reported, a late, a pending and a bounced
 * person; a reminder from the desk reaches the pending person's mailbox; a quarantined mail
 * attached to that person changes the month and the ledger; a failed login, a POST without a
 * CSRF token and an expired session are refused.
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../tools/browser.js';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import type { Project } from '../helpers/project.js';
import { until, type Child } from '../helpers/fleet.js';
import { fixture, ledgers, send } from '../helpers/replies.js';
import type { MailStack } from '../../tools/mail-stack.js';
import { DESK_PASSWORD, deskProject, handMadeTable, startDesk } from './helpers.js';

const mail = useMailStack();
const PASSWORD = DESK_PASSWORD;
const children: Child[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});

async function reply(stack: MailStack, p: Project, email: string, words: string): Promise<void> {
  const request = (await p.inbox(email)).find((m) => /请填报/.test(m.subject ?? ''));
  if (!request) throw new Error(`no request for ${email}`);
  await replyToRequest({ smtp: { ...stack.smtp, password: stack.password }, from: email, original: request.raw, answer: (no) => ({ progress: `${words}（第${no}项）` }) });
}

/** A bounce of the person's request, as 163's postmaster writes one, naming its Message-ID. */
async function bounce(stack: MailStack, p: Project, email: string): Promise<void> {
  const request = (await p.inbox(email)).find((m) => /请填报/.test(m.subject ?? ''))!;
  const s = fixture('eml/163-bounce.eml').toString('latin1')
    .replaceAll('<req-2020-07-lishixiang-3f9c2a1e@taizhang.local>', request.messageId!)
    .replaceAll('lishixiang@example.com', email)
    .replaceAll('<5f14f8c5.3b2e.1736a4c8e11.Coremail.postmaster@163.com>', '<bounce-desk.1@163.com>');
  await stack.deliver(Buffer.from(s, 'latin1'), [p.mailbox], '');
}

const rowStatus = (page: Page, id: string) => page.getAttribute(`tr[data-person="${id}"]`, 'data-status');

describe('the desk', () => {
  it('shows the month, reminds, attaches a quarantined mail, sends the ledger; refuses bad logins, missing CSRF tokens and expired sessions', async () => {
    const stack = mail();
    const { p, base, hash } = await deskProject(stack);
    const [ai, wang, ma, li] = p.people as { name: string; email: string }[];

    // June: ai reports in time, ma's request bounces, the ledger goes out, wang reports late, li is silent.
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    await reply(stack, p, ai.email, '已完成起草');
    await bounce(stack, p, ma.email);
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
    expect((await p.tick('2020-07-01T09:00:00+08:00')).code).toBe(0);
    await reply(stack, p, wang.email, '已逾期补报');
    expect((await p.tick('2020-07-02T09:00:00+08:00')).code).toBe(0);

    const daemon = await startDesk(p, stack);
    children.push(daemon);

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();

    // No page without a login; a wrong password is refused.
    await page.goto(`${base}/l/main/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#name', 'clerk');
    await page.fill('#password', 'wrong-password');
    const refused = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(refused[0]!.status()).toBe(401);
    expect(await page.textContent('.error')).toContain('用户名或密码错误');

    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(new URL(page.url()).pathname).toBe('/l/main/');
    expect((await context.cookies()).find((c) => c.name === 'taizhang_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    const csp = (await page.goto(`${base}/l/main/?period=2020-06`))!.headers()['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');

    // The month: reported, late, pending and bounced, counted at the top.
    expect(await page.textContent('h2')).toContain('2020年6月报送情况');
    expect(await rowStatus(page, ai.name)).toBe('submitted');
    expect(await rowStatus(page, wang.name)).toBe('late');
    expect(await rowStatus(page, li.name)).toBe('pending');
    expect(await page.textContent(`tr[data-person="${ma.name}"] td.st`)).toBe('退信');
    expect((await page.textContent('#counts'))!.replace(/\s+/g, '')).toBe('应报4已报2逾期报送1未报2退信或发送失败1');
    const html = await page.content();
    expect(html).not.toContain(hash.split('$')[5]);
    const session = (await context.cookies()).find((c) => c.name === 'taizhang_session')!;
    expect(html).not.toContain(session.value);
    if (process.env.TAIZHANG_DESK_SCREENSHOT) writeFileSync(process.env.TAIZHANG_DESK_SCREENSHOT, await page.screenshot({ fullPage: true }));

    // Remind li from the desk: a confirm page, then the reminder in li's real mailbox.
    await page.click(`tr[data-person="${li.name}"] a:text("提醒")`);
    expect(await page.textContent('main p')).toContain(`确认现在向${li.name}`);
    await Promise.all([page.waitForNavigation(), page.click('button.primary')]);
    expect(await page.textContent('#result')).toBe('提醒已发出。');
    await until('the reminder in li\'s mailbox', async () => (await p.inbox(li.email)).some((m) => /提醒/.test(m.subject ?? '')) || undefined, 20_000, 250);

    // A stranger forwards li's table by hand: quarantined, then attached to li for June.
    const tasks = (p.config.ledger.tasks as { no: number; task: string; owners: string[] }[]).filter((t) => t.owners.includes(li.name));
    await send(stack, p, {
      from: 'helper@elsewhere.test', subject: '转李同志的台账', text: '李同志出差，托我转交进展情况。\n请查收。',
      attachments: [{ filename: '台账.xlsx', content: await handMadeTable(tasks.map((t) => ({ no: t.no, task: t.task, progress: `出差途中已推进（第${t.no}项）` }))) }],
    });
    await until('the mail in the quarantine list', async () => {
      await page.goto(`${base}/l/main/mail`);
      return (await page.textContent('#quarantine'))!.includes('转李同志的台账') || undefined;
    }, 30_000, 500);
    expect(await page.textContent('#quarantine')).toContain('李同志出差，托我转交进展情况。');
    expect(await page.textContent('#quarantine')).toContain('发件人不在名单中');
    await page.click('#quarantine a:text("登记为某人的报送")');
    await page.selectOption('#f-person', li.name);
    await page.selectOption('#f-period', '2020-06');
    await Promise.all([page.waitForNavigation(), page.click('button.primary')]);
    expect(await page.textContent('#result')).toContain(`已登记为${li.name}2020年6月的报送`);
    await page.goto(`${base}/l/main/?period=2020-06`);
    expect(await rowStatus(page, li.name)).toBe('late');
    await page.goto(`${base}/l/main/people/${encodeURIComponent(li.name)}?period=2020-06`);
    expect(await page.textContent('.report')).toContain(`出差途中已推进（第${tasks[0].no}项）`);

    // The ledger from the desk: its second version, with li's words, in the office's mailbox.
    await page.goto(`${base}/l/main/act/ledger?period=2020-06`);
    await Promise.all([page.waitForNavigation(), page.click('button.primary')]);
    expect(await page.textContent('#result')).toBe('汇总台账已发送办公室。');
    const latest = await until('the updated ledger', async () => { const all = await ledgers(p); return all.length >= 2 ? all.at(-1) : undefined; }, 20_000, 250);
    expect(latest.progress.get(tasks[0].no)).toContain(`出差途中已推进（第${tasks[0].no}项）`);

    // Every action in the audit log, with its user.
    await page.goto(`${base}/l/main/audit`);
    const audit = await page.textContent('#audit');
    for (const action of ['remind', 'attach', 'send-ledger']) expect(audit).toContain(action);
    expect(audit).toContain('clerk');

    // A POST without a CSRF token is refused, and queues nothing.
    const before = (await p.inbox(ai.email)).length;
    const forged = await page.request.post(`${base}/l/main/act/remind`, { form: { period: '2020-06', nonce: 'a'.repeat(18) } });
    expect(forged.status()).toBe(403);

    // An expired session is refused: the next page is the login.
    const db = new Database(path.join(p.dataDir, 'taizhang.sqlite'));
    try { db.prepare("UPDATE desk_sessions SET expires_at = '2000-01-01T00:00:00.000Z'").run(); } finally { db.close(); }
    await page.goto(`${base}/l/main/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await p.inbox(ai.email)).length).toBe(before);

    daemon.proc.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  }, 180_000);
});
