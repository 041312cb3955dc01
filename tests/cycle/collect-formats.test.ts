/**
 * Replies in the formats people really use, through the real mailbox (Dovecot), the real SMTP
 * relay and the real command line: 艾延坤 answers with his form saved as Excel 97-2003 (.xls,
 * by LibreOffice), 王群才 with the table filled in Word (.docx, re-saved by LibreOffice Writer).
 * Both are recorded, word for word, and each receipt says which format was read and what else
 * happened (rows not theirs, a changed task text, empty rows).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { FIXTURES, FOLDERS, answersTo, collectionFolders, fixture, foldersOf, ledgers, requestOf, send, type Parsed } from '../helpers/replies.js';

const mail = useMailStack();
const seed = JSON.parse(readFileSync(path.join(FIXTURES, 'xlsx', 'seed-ledger.json'), 'utf8')) as { secret: string };
const AI = 'aiyankun@example.com';
const WANG = 'wangquncai@example.com';

let p: Project;
const ids: Record<'ai' | 'wang', string> = { ai: '', wang: '' };

async function receipt(user: string, mid: string): Promise<Parsed> {
  const all = await answersTo(p, user, mid);
  expect(all).toHaveLength(1);
  return all[0];
}

beforeAll(async () => {
  p = makeProject(mail(), (doc) => {
    doc.secret = seed.secret; // the secret the .xls fixture's identity was made with
    doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'formats-office@office.test';
  });
  const t1 = await p.tick('2020-06-20T09:00:00+08:00');
  expect(t1.code, t1.stderr).toBe(0);
  ids.ai = await send(mail(), p, { from: AI, replyTo: await requestOf(p, AI), attachments: [{ filename: '进展情况.xls', content: fixture('xlsx/lo-filled.xls') }] });
  ids.wang = await send(mail(), p, { from: WANG, replyTo: await requestOf(p, WANG), attachments: [{ filename: '王群才进展情况.docx', content: fixture('formats/lo-wang.docx') }] });
  const t2 = await p.tick('2020-06-21T09:00:00+08:00');
  expect(t2.code, t2.stderr).toBe(0);
}, 120_000);

describe('an .xls reply', () => {
  it('is recorded from the form\'s identity, and the receipt names the format', async () => {
    const r = await receipt(AI, ids.ai);
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain('已读取您发来的Excel 97-2003 工作簿（.xls）“进展情况.xls”。');
    expect(r.text).toContain('进展情况：第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉');
    expect(r.text).toContain('进展情况：=1+1 不是公式');
    expect(r.text).toContain('备注：2020年6月15日');
    expect(r.text).not.toContain('不是您负责的任务');
    expect(r.text).not.toContain('主要任务”与台账原文不一致');
    expect(await foldersOf(mail(), p, ids.ai, await collectionFolders(mail(), p))).toEqual([FOLDERS.processed]);
  });
});

describe('a .docx reply', () => {
  it('is recorded by sender and thread; the receipt names the format, the row not his, the changed task text and the empty row', async () => {
    const r = await receipt(WANG, ids.wang);
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain('已读取您发来的Word 文档（.docx）“王群才进展情况.docx”。');
    expect(r.text).toContain('进展情况：第一段：已起草实施办法。\n第二段：已征求意见。');
    expect(r.text).toContain('备注：备\t注');
    expect(r.text).toContain('表格中第13项不是您负责的任务，所填内容未予登记。');
    expect(r.text).toContain('第9项的“主要任务”与台账原文不一致：所填进展情况已登记，主要任务仍以台账原文为准。');
    const empty = (r.text ?? '').split('以下任务未填写进展情况')[1] ?? '';
    expect(empty).toContain('16. 加强宣传引导');
    expect(r.html).toContain('已读取您发来的Word 文档（.docx）');
  });

  it('both count as reported', async () => {
    const s = await p.status('2020-06');
    for (const email of [AI, WANG]) expect(s.people.find((x: { email: string }) => x.email === email)).toMatchObject({ status: 'submitted', reports: 1, sentBy: null });
  });
});

describe('the consolidated ledger', () => {
  it('holds the words of both exactly, the office\'s task texts, and nothing written for another', async () => {
    const t = await p.tick('2020-07-01T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const [l] = await ledgers(p);
    expect(l.progress.get(1)).toBe('第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉');
    expect(l.remark.get(1)).toBe('  前后空格  ');
    expect(l.progress.get(4)).toBe('第一段：已起草实施办法。\n第二段：已征求意见。');
    expect(l.remark.get(4)).toBe('备\t注');
    expect(l.progress.get(6)).toBe('=SUM(A1:A2) 不是公式 😀 “中文引号”');
    expect(l.remark.get(6)).toBe('  前后空格  ');
    expect(l.progress.get(9)).toBe('已完成');
    expect(l.progress.get(13)).toBe('马红霞：未报送'); // 王群才 wrote in her row: not hers, not recorded
    const ws = l.workbook.getWorksheet('台账')!;
    const texts: string[] = [];
    ws.eachRow((row) => row.eachCell((c) => { texts.push(String(c.value)); }));
    expect(texts.some((x) => x.includes('提高政务公开能力。'))).toBe(true); // the office's wording of task 9
    expect(texts.some((x) => x.includes('（改写）'))).toBe(false);
  });
});
