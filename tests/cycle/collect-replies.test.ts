/**
 * Replies of every kind a person (or a stranger) sends, read from a real collection mailbox
 * (Dovecot) by the real command line, answered through a real SMTP relay.
 *
 * One project for the whole file: requests go out on 2020-06-20, every case's reply is sent to
 * the collection mailbox, one tick on 2020-06-21 reads them all, and each test checks its own
 * case (one person per case). The last test sends the consolidated ledger on 2020-07-01.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, collectionFolders, filledForm, fixture, foldersOf, header, ledgers,
  nonRequestMail, requestOf, formOf, rezip, send, type CasePerson, type FolderSnapshot, type Parsed,
} from '../helpers/replies.js';

const mail = useMailStack();

/** Words with every character that must survive: newlines, tabs, quotes, emoji, leading = + - @, spaces. */
const TRICKY = {
  a: '第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉 “中文引号”',
  b: '=SUM(A1:A2) 不是公式',
  bRemark: '+86 138 0000 0000',
  c: '-减号开头,后面有换行\n\n两个换行',
  cRemark: '@提及某人',
  d: `  前后空格保留  ${'长文本:推进依法行政,完善制度建设。'.repeat(120)}😀`,
  dRemark: '\t制表符开头',
};

const KEYS = [
  'good', 'noatt', 'xls', 'et', 'ods', 'csv', 'xlsb', 'encrypted', 'pdf', 'word', 'text', 'truncated', 'bomb', 'bombdeclared', 'mergebomb', 'xlsm',
  'empty', 'partial', 'fwd', 'twofiles',
] as const;
type Key = (typeof KEYS)[number] | 'tricky';
const P = { ...casePeople([...KEYS], 101, 2), ...casePeople(['tricky'], 301, 4) } as Record<Key, CasePerson>;
const COLLEAGUE = 'colleague-of-fwd@other.test';
const STRANGERS = ['stranger-plain@nowhere.test', 'stranger-file@nowhere.test', 'stranger-xls@nowhere.test'];

let stack: ReturnType<typeof mail>;
let project: Project;
/** Message-ID of the reply sent for each case. */
const sent: Partial<Record<Key | 'stranger-plain' | 'stranger-file' | 'stranger-xls', string>> = {};
let sentCount = 0;
let tick2: { code: number; stdout: string; stderr: string };

const words = (key: Key, no: number) => `${P[key].name}:第${no}项已按要求推进。`;

async function replyWith(key: Key, attachments: Mail.Attachment[], extra: { subject?: string; text?: string } = {}): Promise<void> {
  const req = await requestOf(project, P[key].email);
  sent[key] = await send(stack, project, { from: P[key].email, replyTo: req, attachments, ...extra });
  sentCount++;
}

async function replyWithFile(key: Key, filename: string, content: Buffer): Promise<void> {
  await replyWith(key, [{ filename, content }]);
}

/** The single answer a case's sender got to its reply. */
async function receiptOf(key: Key, user = P[key].email): Promise<Parsed> {
  const answers = await answersTo(project, user, sent[key]!);
  expect(answers).toHaveLength(1);
  return answers[0];
}

/** The mailbox's folders and the status after the reading tick: nothing changes them until the ledger's tick. */
let folderSnapshot: Promise<FolderSnapshot> | undefined;
let statusSnapshot: Promise<any> | undefined;
const snapshot = () => (folderSnapshot ??= collectionFolders(stack, project));
const folderOf = async (mid: string) => foldersOf(stack, project, mid, await snapshot());

async function personStatus(email: string) {
  const s = await (statusSnapshot ??= project.status('2020-06'));
  const p = s.people.find((x: { email: string }) => x.email === email);
  expect(p).toBeDefined();
  return p;
}

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  const t1 = await project.tick('2020-06-20T09:00:00+08:00');
  expect(t1.code, t1.stderr).toBe(0);

  // A good reply: every row filled, with a remark.
  const good = await filledForm(project, P.good.email, (no) => ({ progress: words('good', no), remark: `备注${no}` }));
  await replyWithFile('good', good.filename, good.content);

  // No attachment at all.
  await replyWith('noatt', [], { text: '已填好,请查收。' });

  // Files people save in other formats, or that are not spreadsheets at all.
  await replyWithFile('xls', '台账进展情况.xls', fixture('xlsx/lo-filled.xls'));
  await replyWithFile('et', '台账进展情况.et', fixture('xlsx/lo-filled.et'));
  await replyWithFile('ods', '台账进展情况.ods', fixture('xlsx/lo-filled.ods'));
  await replyWithFile('csv', '台账进展情况.csv', fixture('xlsx/lo-filled.csv'));
  await replyWithFile('xlsb', '台账进展情况.xlsb', fixture('formats/filled.xlsb'));
  await replyWithFile('encrypted', '台账进展情况.xlsx', fixture('xlsx/lo-encrypted.xlsx'));
  await replyWithFile('pdf', '台账进展情况.xlsx', fixture('xlsx/pdf-renamed.xlsx'));
  await replyWithFile('word', '台账进展情况.xlsx', fixture('xlsx/word-renamed.xlsx'));
  await replyWithFile('text', '台账进展情况.xlsx', fixture('xlsx/text-renamed.xlsx'));
  await replyWithFile('truncated', '台账进展情况.xlsx', fixture('xlsx/truncated.xlsx'));
  await replyWithFile('bomb', '台账进展情况.xlsx', fixture('xlsx/bomb-lying.xlsx'));
  await replyWithFile('bombdeclared', '台账进展情况.xlsx', fixture('xlsx/bomb-declared.xlsx'));
  await replyWithFile('mergebomb', '台账进展情况.xlsx', fixture('xlsx/merge-bomb.xlsx'));

  // The form saved as a macro-enabled workbook (.xlsm): still readable.
  const xlsmForm = await filledForm(project, P.xlsm.email, (no) => ({ progress: words('xlsm', no) }));
  const xlsm = rezip(xlsmForm.content, (name, data) => (name === '[Content_Types].xml'
    ? Buffer.from(data.toString('utf8').replace('spreadsheetml.sheet.main+xml', 'ms-excel.sheet.macroEnabled.main+xml'))
    : undefined));
  await replyWithFile('xlsm', xlsmForm.filename.replace(/\.xlsx$/, '.xlsm'), xlsm);

  // The form sent back as it came: nothing filled.
  const emptyReq = await requestOf(project, P.empty.email);
  await replyWithFile('empty', formOf(emptyReq).filename, formOf(emptyReq).content);

  // One of two rows filled.
  const [firstPartial] = P.partial.tasks;
  const partial = await filledForm(project, P.partial.email, (no) => (no === firstPartial.no ? { progress: words('partial', no) } : undefined));
  await replyWithFile('partial', partial.filename, partial.content);

  // Text that must be kept exactly.
  const [t1n, t2n, t3n, t4n] = P.tricky.tasks.map((t) => t.no);
  const tricky = await filledForm(project, P.tricky.email, (no) => ({
    [t1n]: { progress: TRICKY.a },
    [t2n]: { progress: TRICKY.b, remark: TRICKY.bRemark },
    [t3n]: { progress: TRICKY.c, remark: TRICKY.cRemark },
    [t4n]: { progress: TRICKY.d, remark: TRICKY.dRemark },
  } as Record<number, { progress: string; remark?: string }>)[no]);
  await replyWithFile('tricky', tricky.filename, tricky.content);

  // A colleague forwards the person's filled form from an address the service does not know.
  const fwd = await filledForm(project, P.fwd.email, (no) => ({ progress: words('fwd', no) }));
  sent.fwd = await send(stack, project, {
    from: COLLEAGUE, subject: `转发:${fwd.request.subject}`, text: `${P.fwd.name}出差,由我代为报送。`,
    attachments: [{ filename: fwd.filename, content: fwd.content }],
  });
  sentCount++;

  // Strangers: one with no file, one with a spreadsheet that is not one of ours.
  sent['stranger-plain'] = await send(stack, project, { from: STRANGERS[0], subject: '咨询', text: '你好,请问这个邮箱是做什么的?' });
  sent['stranger-file'] = await send(stack, project, {
    from: STRANGERS[1], subject: '进展情况', attachments: [{ filename: '进展情况.xlsx', content: fixture('xlsx/minimal.xlsx') }],
  });
  sent['stranger-xls'] = await send(stack, project, {
    from: STRANGERS[2], subject: '报表', attachments: [{ filename: '报表.xls', content: fixture('xlsx/lo-filled.xls') }],
  });
  sentCount += 3;

  // Two files: an old .xls first, then the filled form: the form is the report.
  const two = await filledForm(project, P.twofiles.email, (no) => ({ progress: words('twofiles', no) }));
  await replyWith('twofiles', [{ filename: '旧表.xls', content: fixture('xlsx/lo-filled.xls') }, { filename: two.filename, content: two.content }]);

  tick2 = await project.tick('2020-06-21T09:00:00+08:00');
}, 120_000);

describe('one tick reads every reply', () => {
  it('the tick succeeds, empties the INBOX and keeps every message in an outcome folder', async () => {
    expect(tick2.code, tick2.stderr).toBe(0);
    const folders = await snapshot();
    expect(folders.INBOX).toHaveLength(0);
    const total = Object.values(folders).reduce((n, list) => n + list.length, 0);
    expect(total).toBe(sentCount);
    // Each was kept raw on disk before it was processed.
    const kept = readdirSync(path.join(project.dataDir, 'mail')).flatMap((v) => readdirSync(path.join(project.dataDir, 'mail', v)).filter((f) => f.endsWith('.eml')));
    expect(kept).toHaveLength(sentCount);
    // Each sent reply is in exactly one folder.
    for (const [key, mid] of Object.entries(sent)) {
      expect(await folderOf(mid!), key).toHaveLength(1);
    }
  });
});

describe('a good reply', () => {
  it('is recorded, answered with a receipt in the thread, and filed as processed', async () => {
    const r = await receiptOf('good');
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.inReplyTo).toBe(sent.good);
    expect([r.references].flat()).toContain(sent.good);
    expect(header(r.raw, 'Auto-Submitted')).toBe('auto-generated');
    expect(r.from?.value[0].address).toBe(project.mailbox);
    for (const t of P.good.tasks) {
      expect(r.text).toContain(`${t.no}. ${t.task}`);
      expect(r.text).toContain(`进展情况：${words('good', t.no)}`);
      expect(r.text).toContain(`备注：备注${t.no}`);
    }
    expect(r.text).not.toContain('未填写进展情况');
    expect(await folderOf(sent.good!)).toEqual([FOLDERS.processed]);
    const st = await personStatus(P.good.email);
    expect(st).toMatchObject({ status: 'submitted', label: '已报送', reports: 1, sentBy: null, delivery: 'sent' });
    expect(st.reportedAt).toBe('2020-06-21T01:00:00.000Z');
  });
});

describe('a reply without the form', () => {
  it('gets a receipt asking for the attachment, and is filed as needing correction', async () => {
    const r = await receiptOf('noatt');
    expect(r.subject).toBe('【请补正】您的报送未能登记');
    expect(r.text).toContain('原因：邮件中没有找到填写后的表格附件。');
    expect(r.text).toContain('直接回复本邮件并添加该表格为附件');
    expect(header(r.raw, 'Auto-Submitted')).toBe('auto-generated');
    expect(await folderOf(sent.noatt!)).toEqual([FOLDERS.rejected]);
    expect(await personStatus(P.noatt.email)).toMatchObject({ status: 'pending', reports: 0 });
  });
});

describe('other formats are read: a colleague\'s form in them is answered with what was read', () => {
  // Each sent 艾延坤's form (rows 1–14): none of its rows is theirs, and the receipt says so.
  const cases: [Key, string][] = [
    ['xls', 'Excel 97-2003 工作簿（.xls）'], ['et', 'WPS 表格（.et）'], ['ods', 'OpenDocument 电子表格（.ods）'], ['xlsb', 'Excel 二进制工作簿（.xlsb）'],
  ];
  for (const [key, format] of cases) {
    it(`${key}`, async () => {
      const r = await receiptOf(key);
      expect(r.subject).toBe('【请补正】您的报送未能登记');
      expect(r.text).toContain(`已读取您发来的${format}“台账进展情况.${key}”。`);
      expect(r.text).toContain('表格中第1、2、3、5、7、11、12、14项不是您负责的任务，所填内容未予登记。');
      expect(r.text).toContain('原因：表格中您负责的任务均未填写进展情况。');
      expect(await folderOf(sent[key]!)).toEqual([FOLDERS.rejected]);
      expect(await personStatus(P[key].email)).toMatchObject({ status: 'pending', reports: 0 });
    });
  }
});

describe('files that cannot be read get a receipt naming the problem and the fix', () => {
  const cases: [Key, string[]][] = [
    ['csv', ['CSV 文本', '.xlsx 表格中填写']],
    ['encrypted', ['设置了打开密码', '取消文件密码后另存为 .xlsx']],
    ['pdf', ['不是可以读取的电子表格（.xlsx）', '另存为']],
    ['word', ['找不到台账表格', '不要删除或改动表头']], // a Word document without the form's table
    ['text', ['不是可以读取的电子表格（.xlsx）', '另存为']],
    ['truncated', ['已损坏或不完整', '重新保存表格']],
    ['bomb', ['过大或结构异常', '原表格']],
    ['bombdeclared', ['过大或结构异常', '原表格']],
    ['mergebomb', ['过大或结构异常', '原表格']],
  ];
  for (const [key, phrases] of cases) {
    it(`${key}`, async () => {
      const r = await receiptOf(key);
      expect(r.subject).toBe('【请补正】您的报送未能登记');
      expect(r.inReplyTo).toBe(sent[key]);
      expect(header(r.raw, 'Auto-Submitted')).toBe('auto-generated');
      const reason = /原因：(.*)\n处理办法：(.*)/.exec(r.text ?? '');
      expect(reason, r.text).not.toBeNull();
      for (const p of phrases) expect(`${reason![1]} ${reason![2]}`).toContain(p);
      expect(await folderOf(sent[key]!)).toEqual([FOLDERS.rejected]);
      expect(await personStatus(P[key].email)).toMatchObject({ status: 'pending', reports: 0 });
    });
  }

  it('of two files, the readable form is the report', async () => {
    const r = await receiptOf('twofiles');
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    for (const t of P.twofiles.tasks) expect(r.text).toContain(`进展情况：${words('twofiles', t.no)}`);
    expect(await personStatus(P.twofiles.email)).toMatchObject({ status: 'submitted', reports: 1 });
  });

  it('a form saved as .xlsm is read like .xlsx', async () => {
    const r = await receiptOf('xlsm');
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    for (const t of P.xlsm.tasks) expect(r.text).toContain(`进展情况：${words('xlsm', t.no)}`);
    expect(await personStatus(P.xlsm.email)).toMatchObject({ status: 'submitted', reports: 1 });
  });
});

describe('how much of the form is filled', () => {
  it('a form with nothing filled is not a report', async () => {
    const r = await receiptOf('empty');
    expect(r.subject).toBe('【请补正】您的报送未能登记');
    expect(r.text).toContain('原因：表格中您负责的任务均未填写进展情况。');
    expect(await folderOf(sent.empty!)).toEqual([FOLDERS.rejected]);
    expect(await personStatus(P.empty.email)).toMatchObject({ status: 'pending', reports: 0 });
  });

  it('a partly filled form is recorded and the receipt names the empty rows', async () => {
    const r = await receiptOf('partial');
    const [filled, empty] = P.partial.tasks;
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain(`进展情况：${words('partial', filled.no)}`);
    const tail = (r.text ?? '').split('以下任务未填写进展情况')[1];
    expect(tail, r.text).toBeDefined();
    expect(tail).toContain(`${empty.no}. ${empty.task}`);
    expect(tail).not.toContain(`${filled.no}. ${filled.task}`);
    expect(await personStatus(P.partial.email)).toMatchObject({ status: 'submitted', reports: 1 });
  });
});

describe('text is kept exactly as written', () => {
  it('the receipt repeats the words unchanged', async () => {
    const r = await receiptOf('tricky');
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    for (const w of [TRICKY.a, TRICKY.b, TRICKY.bRemark, TRICKY.c, TRICKY.cRemark, TRICKY.d, TRICKY.dRemark]) expect(r.text).toContain(w);
  });
});

describe('who is writing', () => {
  it('a colleague forwarding the form is accepted on the person\'s behalf; the receipt goes to the colleague, the notice to the person', async () => {
    const r = await receiptOf('fwd', COLLEAGUE);
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.to && !Array.isArray(r.to) ? r.to.value[0].address : undefined).toBe(COLLEAGUE);
    expect(r.text).toContain(`本次由${COLLEAGUE}代为报送，已记入${P.fwd.name}名下。`);
    expect(r.text?.startsWith('您好：')).toBe(true); // the colleague is greeted, not the absent person
    // The colleague is outside the roster: the receipt names the tasks but does not repeat the words.
    for (const t of P.fwd.tasks) {
      expect(r.text).toContain(`${t.no}. ${t.task}`);
      expect(r.text).not.toContain(words('fwd', t.no));
    }
    const [notice, ...more] = await nonRequestMail(project, P.fwd.email);
    expect(more).toHaveLength(0);
    expect(notice.subject).toBe('【代报通知】您2020年6月的进展情况已由他人报送');
    for (const t of P.fwd.tasks) expect(notice.text).toContain(`进展情况：${words('fwd', t.no)}`);
    expect(await personStatus(P.fwd.email)).toMatchObject({ status: 'submitted', sentBy: COLLEAGUE, reports: 1 });
    expect(await folderOf(sent.fwd!)).toEqual([FOLDERS.processed]);
  });

  it('strangers get no answer at all; their mail is quarantined and counted', async () => {
    for (const s of STRANGERS) {
      expect(await project.inbox(s)).toHaveLength(0);
      expect(stack.smtp.accepted.filter((m) => m.to.includes(s))).toHaveLength(0);
    }
    expect(await folderOf(sent['stranger-plain']!)).toEqual([FOLDERS.quarantine]);
    expect(await folderOf(sent['stranger-file']!)).toEqual([FOLDERS.quarantine]);
    expect(await folderOf(sent['stranger-xls']!)).toEqual([FOLDERS.quarantine]);
    const s = await project.status('2020-06');
    expect(s.quarantined).toBe(3);
    const text = await project.cli('status', '--period', '2020-06');
    expect(text.stdout).toContain('隔离邮件（来源不明，未回复）：3 封');
  });
});

describe('the consolidated ledger', () => {
  it('holds every valid report exactly as written, and who sent it', async () => {
    const t = await project.tick('2020-07-01T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const all = await ledgers(project);
    expect(all).toHaveLength(1);
    const l = all[0];
    expect(l.mail.subject).toContain('【台账汇总】');
    for (const key of ['good', 'xlsm', 'fwd', 'twofiles'] as const) {
      for (const task of P[key].tasks) expect(l.progress.get(task.no), `${key} ${task.no}`).toBe(words(key, task.no));
    }
    for (const task of P.good.tasks) expect(l.remark.get(task.no)).toBe(`备注${task.no}`);
    const [pf, pe] = P.partial.tasks;
    expect(l.progress.get(pf.no)).toBe(words('partial', pf.no));
    expect(l.progress.get(pe.no)).toBe(`${P.partial.name}：未填写`);
    for (const key of ['noatt', 'xls', 'encrypted', 'bomb', 'empty'] as const) {
      for (const task of P[key].tasks) expect(l.progress.get(task.no), key).toBe(`${P[key].name}：未报送`);
    }
    const [a, b, c, d] = P.tricky.tasks.map((x) => x.no);
    expect(l.progress.get(a)).toBe(TRICKY.a);
    expect(l.progress.get(b)).toBe(TRICKY.b);
    expect(l.remark.get(b)).toBe(TRICKY.bRemark);
    expect(l.progress.get(c)).toBe(TRICKY.c);
    expect(l.remark.get(c)).toBe(TRICKY.cRemark);
    expect(l.progress.get(d)).toBe(TRICKY.d);
    expect(l.remark.get(d)).toBe(TRICKY.dRemark);
    // Text starting with = is text in the ledger, not a formula.
    const ws = l.workbook.getWorksheet('台账')!;
    let formulas = 0;
    ws.eachRow((row) => row.eachCell((cell) => { if (cell.formula || (typeof cell.value === 'object' && cell.value && 'formula' in cell.value)) formulas++; }));
    expect(formulas).toBe(0);
    // 填报情况: the forwarded report shows who sent it.
    const fwdRow = l.people.get(P.fwd.email);
    expect(fwdRow).toEqual([P.fwd.name, P.fwd.department, P.fwd.email, '已报送', '2020年6月21日 9:00', COLLEAGUE, '1']);
    expect(l.people.get(P.noatt.email)?.[3]).toBe('未报送');
    // Strangers never reach the ledger.
    for (const s of STRANGERS) expect(l.people.has(s)).toBe(false);
  });
});
