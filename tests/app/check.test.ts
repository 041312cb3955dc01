/**
 * `taizhang check` against the real stack: all well → exit 0 and the service's folders exist;
 * each kind of trouble → non-zero with a plain Chinese + English explanation; the IMAP ID reaches
 * the server before and after login (Dovecot logs it with imap_id_log = *).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hintFor } from '../../src/app/check.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject } from '../helpers/project.js';
import { isolate, spawnCli } from '../helpers/fleet.js';

const mail = useMailStack();
const FOLDERS = ['台账-已处理', '台账-需补正', '台账-隔离', '台账-自动邮件', 'Sent'];

describe('check', () => {
  it('all well: exit 0, the folders exist, and the IMAP ID was sent before and after login', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); d.mailbox.folders = { sent: '已发送' }; });
    const before = (await stack.listFolders(p.mailbox)).map((f) => f.path);
    expect(before).not.toContain('台账-已处理');
    const r = await p.cli('check');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✔ 配置有效 config OK \(4 people, 17 tasks\)/);
    expect(r.stdout).toMatch(/✔ IMAP 登录成功 IMAP login OK/);
    expect(r.stdout).toMatch(/✔ SMTP 登录成功 SMTP login OK/);
    expect(r.stdout).not.toMatch(/✘/);
    const after = (await stack.listFolders(p.mailbox)).map((f) => f.path);
    for (const f of [...FOLDERS.slice(0, 4), '已发送']) {
      expect(after).toContain(f);
      expect(r.stdout).toContain(f);
    }
    // Twice is fine: nothing to create the second time.
    expect((await p.cli('check')).code).toBe(0);

    // imap-login logs the ID sent before authentication; imap(user) the one sent after it.
    const log = readFileSync(stack.dovecotLogPath, 'utf8').split('\n');
    const ids = log.filter((l) => /ID sent: name=taizhang, version=\d/.test(l));
    expect(ids.some((l) => /imap-login: .*ID sent: name=taizhang, version=/.test(l))).toBe(true);
    expect(ids.some((l) => l.includes(`imap(${p.mailbox})`) && /vendor=taizhang, support-url=/.test(l))).toBe(true);
  });

  it('wrong password: non-zero, both sides explain the authorization code (授权码) in Chinese and English', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const c = spawnCli(p, stack, ['check'], { TAIZHANG_MAIL_PASSWORD: 'not-the-auth-code', TAIZHANG_LOG_LEVEL: 'silent' });
    const { code } = await c.exited;
    expect(code).toBe(1);
    const out = c.stdout();
    expect(out).toMatch(/✘ IMAP 127\.0\.0\.1:\d+\n\s+登录被拒绝.*授权码.*Login refused: use the authorization code \(授权码\)/);
    expect(out).toMatch(/✘ SMTP 127\.0\.0\.1:\d+\n\s+登录被拒绝.*授权码.*Login refused/);
    expect(c.stderr()).toMatch(/check found 2 problem\(s\)/);
  });

  it('an IMAP server that is not there, a From that is not the account, STARTTLS required but not offered', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => {
      isolate(d);
      d.mailbox.imap.port = 1; // nothing listens there
      d.mailbox.smtp.user = 'someone-else@example.com';
      d.mailbox.smtp.require_tls = true; // the relay offers no STARTTLS
    });
    const r = await p.cli('check');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✘ IMAP 127\.0\.0\.1:1\n\s+无法连接 IMAP 服务器.*Cannot reach the IMAP server/);
    expect(r.stdout).toMatch(/✘ SMTP 127\.0\.0\.1:\d+\n\s+服务器未提供 STARTTLS.*The server offered no STARTTLS/);
    expect(r.stdout).toMatch(/✘ mailbox\.smtp\.user\n\s+发件账号与 mailbox\.address 不一致.*\(553\)/);
    expect(r.stderr).toMatch(/check found 3 problem\(s\)/);
  });

  it('require_tls reaches the sending transport too: no STARTTLS, nothing goes out in plaintext', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); d.mailbox.smtp.require_tls = true; });
    const before = stack.smtp.accepted.length;
    const r = await p.tick('2020-06-20T09:00:00+08:00');
    expect(r.stderr).toMatch(/sent 0, retrying 4/);
    expect(stack.smtp.accepted.length).toBe(before);
    const s = await p.status('2020-06');
    expect(s.people.map((x: { delivery: string }) => x.delivery)).toEqual(['queued', 'queued', 'queued', 'queued']);
  });

  it('hints for what 163.com answers', () => {
    expect(hintFor(new Error('IMAP command failed: SELECT Unsafe Login. Please contact kefu@188.com for help'), 'IMAP')).toMatch(/^163 拒绝了不安全登录.*IMAP ID/);
    expect(hintFor(new Error('Invalid login: 535 Error: authentication failed'), 'SMTP')).toMatch(/授权码.*authorization code/);
    expect(hintFor(new Error('Mail command failed: 553 Mail from must equal authorized user'), 'SMTP')).toMatch(/^发件人必须是登录账号本身/);
    expect(hintFor(new Error('self-signed certificate in certificate chain'), 'IMAP')).toMatch(/^TLS 连接失败/);
    expect(hintFor(new Error('something else entirely'), 'IMAP')).toBe('something else entirely');
  });
});
