/**
 * Forms saved again by LibreOffice (fixtures made by LibreOffice 7.4 from our own template, see
 * tests/fixtures/xlsx/README.md) go through the real mailbox and the real CLI: the identity the
 * file carries decides whose report it is, and the words reach the ledger exactly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { answersTo, FIXTURES, fixture, ledgers, send } from '../helpers/replies.js';

const mail = useMailStack();
const seed = JSON.parse(readFileSync(path.join(FIXTURES, 'xlsx', 'seed-ledger.json'), 'utf8')) as { secret: string };
const TRICKY = "第一行\n第二行\t制表符 \"双引号\" '单引号' 😀🎉";

describe('forms re-saved by LibreOffice', () => {
  let p: Project;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    p = makeProject(mail(), (doc) => {
      doc.secret = seed.secret; // the secret the fixtures' identity was made with
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'lo-office@office.test';
    });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    // A colleague at an address nobody knows sends 艾延坤's form, filled and saved by LibreOffice.
    ids.colleague = await send(mail(), p, { from: 'colleague@elsewhere.test', subject: '代艾延坤报送', attachments: [{ filename: '进展情况.xlsx', content: fixture('xlsx/lo-filled.xlsx') }] });
    // 王群才 copied the sheet and filled the copy.
    ids.wang = await send(mail(), p, { from: 'wangquncai@example.com', attachments: [{ filename: '王群才.xlsx', content: fixture('xlsx/lo-copied-sheet.xlsx') }] });
    const r = await p.tick('2020-06-21T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('accepts a colleague\'s reply on the owner\'s behalf, from the file\'s identity alone', async () => {
    const s = await p.status('2020-06');
    const ai = s.people.find((x: any) => x.name === '艾延坤');
    expect(ai.status).toBe('submitted');
    expect(ai.sentBy).toBe('colleague@elsewhere.test');
    const receipts = await answersTo(p, 'colleague@elsewhere.test', ids.colleague);
    expect(receipts).toHaveLength(1);
    expect(receipts[0].subject).toContain('回执');
    // The words, read exactly, go to the owner; the colleague outside the roster is not sent them back.
    expect(receipts[0].text).not.toContain('=1+1 不是公式');
    const [notice] = (await p.inbox('aiyankun@example.com')).filter((m) => (m.subject ?? '').startsWith('【代报通知】'));
    expect(notice.text).toContain(TRICKY);
    expect(notice.text).toContain('=1+1 不是公式');
  });

  it('reads a form whose sheet was copied and filled in the copy', async () => {
    const s = await p.status('2020-06');
    expect(s.people.find((x: any) => x.name === '王群才').status).toBe('submitted');
    expect((await answersTo(p, 'wangquncai@example.com', ids.wang))[0].text).toContain('在副本里填写');
  });

  it('reads a form with a column inserted, rows re-sorted and the sheet renamed; the later report replaces the first', async () => {
    await send(mail(), p, { from: 'aiyankun@example.com', attachments: [{ filename: '进展情况.xlsx', content: fixture('xlsx/lo-mutated.xlsx') }] });
    expect((await p.tick('2020-06-22T09:00:00+08:00')).code).toBe(0);
    const r = await p.tick('2020-07-01T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const [ledger] = await ledgers(p);
    expect(ledger.progress.get(1)).toBe('进展1');
    expect(ledger.progress.get(14)).toBe('马红霞：未报送\n艾延坤：进展14'); // two owners
    expect(ledger.remark.get(1)).toBe('备注1');
    expect([...ledger.progress.values()].some((v) => v.includes('不应读入'))).toBe(false);
    expect(ledger.progress.get(4)).toBe('在副本里填写');
    const s = await p.status('2020-06');
    expect(s.people.find((x: any) => x.name === '艾延坤').reports).toBe(2);
  });
});

describe('one mail carrying several people\'s forms', () => {
  it('records each form for its owner and lists them all in one receipt', async () => {
    const p = makeProject(mail(), (doc) => {
      doc.secret = seed.secret;
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'lo-multi@office.test';
    });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const id = await send(mail(), p, {
      from: 'clerk@elsewhere.test', subject: '代报两人',
      attachments: [
        { filename: '艾延坤.xlsx', content: fixture('xlsx/lo-filled.xlsx') },
        { filename: '王群才.xlsx', content: fixture('xlsx/lo-copied-sheet.xlsx') },
      ],
    });
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
    const s = await p.status('2020-06');
    for (const name of ['艾延坤', '王群才']) {
      expect(s.people.find((x: any) => x.name === name)).toMatchObject({ status: 'submitted', sentBy: 'clerk@elsewhere.test', reports: 1 });
    }
    const receipts = await answersTo(p, 'clerk@elsewhere.test', id);
    expect(receipts).toHaveLength(1);
    expect(receipts[0].text).toContain('王群才的2020年6月进展情况也已登记');
    expect(receipts[0].text).not.toContain('在副本里填写');
    // Each owner is told what was recorded in their name.
    for (const [email, words] of [['wangquncai@example.com', '在副本里填写'], ['aiyankun@example.com', '=1+1 不是公式']]) {
      const notices = (await p.inbox(email)).filter((m) => (m.subject ?? '').startsWith('【代报通知】') && m.from?.value[0].address === p.mailbox);
      expect(notices).toHaveLength(1);
      expect(notices[0].text).toContain(words);
    }
  });
});
