/**
 * Secrets never reach logs, errors or state. A unit test on the logger's redaction, then whole
 * runs of the real CLI at debug level (requests out, replies in, receipts, the ledger, a wrong
 * password) whose stderr, stdout and data folder are searched for the password in every form it
 * travels in: as is, base64 (AUTH LOGIN) and the AUTH PLAIN blob.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, registerCredentials, scrubSecrets } from '../../src/logger.js';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type CliResult } from '../helpers/project.js';
import { isolate, spawnCli } from '../helpers/fleet.js';

const PASSWORD = 'Tz7-q9Rk-Wm4x-Hush';
const mail = useMailStack({ password: PASSWORD });

/** Every form of the password that could end up in a log line. */
function forms(user: string): string[] {
  return [
    PASSWORD,
    Buffer.from(PASSWORD).toString('base64'),
    Buffer.from(`\u0000${user}\u0000${PASSWORD}`).toString('base64'),
    Buffer.from(`${user}\u0000${user}\u0000${PASSWORD}`).toString('base64'),
  ];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const f = path.join(dir, n);
    return statSync(f).isDirectory() ? filesUnder(f) : [f];
  });
}

function lines(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({ write(chunk, _enc, cb) { out += chunk.toString(); cb(); } });
  return { stream, text: () => out };
}

describe('redaction', () => {
  it('createLogger redacts passwords wherever the config or an auth object puts them', () => {
    const out = lines();
    const log = createLogger({ level: 'debug', destination: out.stream });
    const server = { host: 'imap.163.com', user: 'x@163.com', password: PASSWORD };
    log.info({ password: PASSWORD }, 'top');
    log.info({ imap: server }, 'one deep');
    log.info({ mailbox: { imap: server, smtp: server } }, 'two deep');
    log.info({ config: { mailbox: { imap: server } } }, 'three deep');
    log.info({ auth: { user: 'x@163.com', pass: PASSWORD } }, 'nodemailer auth');
    log.info({ options: { auth: { user: 'x@163.com', pass: PASSWORD } } }, 'nodemailer options');
    log.child({ component: 'smtp' }).debug({ secret: PASSWORD, accessToken: PASSWORD }, 'child');
    log.warn({ err: { message: 'SMTP 535', command: `AUTH PLAIN ${forms('x@163.com')[2]}` } }, 'auth command in an error');
    log.warn({ ctx: { config: { mailbox: { smtp: server } } } }, 'four deep');
    log.debug({ options: { auth: { user: 'x@163.com', password: PASSWORD }, list: [{ pass: PASSWORD }] } }, 'in a list');
    const text = out.text();
    expect(text.trim().split('\n')).toHaveLength(10);
    for (const f of forms('x@163.com')) expect(text).not.toContain(f);
    expect(text).toContain('[redacted]');
    expect(text).toContain('imap.163.com'); // the rest of the object is still there
  });

  it('a registered password is masked in free text too: messages, error strings, AUTH commands', () => {
    const out = lines();
    const log = createLogger({ level: 'debug', destination: out.stream });
    const user = 'y@163.com';
    const plain = forms(user)[2];
    log.warn(`C: AUTH PLAIN ${plain}`);
    expect(out.text()).not.toContain(plain); // an AUTH command is masked even before registration
    registerCredentials(user, PASSWORD);
    log.error({ err: new Error(`LOGIN ${user} ${PASSWORD} failed`) }, `could not log in with ${PASSWORD}`);
    log.info({ response: `334 ${Buffer.from(PASSWORD).toString('base64')}` }, 'AUTH LOGIN step');
    const text = out.text();
    expect(text.trim().split('\n')).toHaveLength(3);
    for (const f of forms(user)) expect(text).not.toContain(f);
    expect(scrubSecrets(`taizhang: IMAP login refused for ${user}: ${PASSWORD}`)).toBe(`taizhang: IMAP login refused for ${user}: [redacted]`);
  });

  it('a whole month at debug level: the password is in no log line, no error and nowhere in the data folder', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const env = { TAIZHANG_LOG_LEVEL: 'debug' };
    const run = async (...args: string[]): Promise<CliResult & { out: string }> => {
      const c = spawnCli(p, stack, args, env);
      const { code } = await c.exited;
      return { code: code ?? -1, stdout: c.stdout(), stderr: c.stderr(), out: c.stdout() + c.stderr() };
    };
    const outputs: string[] = [];
    const first = await run('tick', '--now', '2020-06-20T09:00:00+08:00');
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    outputs.push(first.out);
    for (const person of p.people.slice(0, 2)) {
      const request = (await p.inbox(person.email)).find((m) => /请填报/.test(m.subject ?? ''))!;
      await replyToRequest({ smtp: { ...stack.smtp, password: stack.password }, from: person.email, original: request.raw, answer: () => ({ progress: '已完成。' }) });
    }
    const second = await run('tick', '--now', '2020-06-25T09:00:00+08:00');
    expect(second.code, second.stderr.slice(-2000)).toBe(0);
    outputs.push(second.out);
    const third = await run('tick', '--now', '2020-07-01T09:00:00+08:00');
    expect(third.code, third.stderr.slice(-2000)).toBe(0);
    outputs.push(third.out);
    outputs.push((await run('status', '--period', '2020-06')).out, (await run('check')).out);

    // The runs did log at debug level, including the login conversations.
    const all = outputs.join('\n');
    expect(all).toMatch(/"level":20/);
    expect(all).toMatch(/LOGIN|AUTH/);
    for (const f of forms(p.mailbox)) expect(all).not.toContain(f);

    for (const file of filesUnder(p.dataDir)) {
      const bytes = readFileSync(file);
      for (const f of forms(p.mailbox)) expect(bytes.includes(f), `${file} holds the password (${f})`).toBe(false);
    }
  });

  it('a wrong password: the error lines name the problem, not the password', async () => {
    const stack = mail();
    const wrong = 'Wrong-Pw-Zq81-Hush';
    const p = makeProject(stack, (d) => isolate(d));
    const runs: string[] = [];
    for (const args of [['tick', '--now', '2020-06-20T09:00:00+08:00'], ['check']]) {
      const c = spawnCli(p, stack, args, { TAIZHANG_MAIL_PASSWORD: wrong, TAIZHANG_LOG_LEVEL: 'debug' });
      const { code } = await c.exited;
      expect(code).not.toBe(0);
      runs.push(c.stdout() + c.stderr());
    }
    const all = runs.join('\n');
    expect(all).toMatch(/login refused|授权码/i);
    for (const f of [wrong, Buffer.from(wrong).toString('base64'), Buffer.from(`\u0000${p.mailbox}\u0000${wrong}`).toString('base64')]) {
      expect(all).not.toContain(f);
    }
  });
});
