/**
 * Several ledgers in one deployment, one mailbox, through the real CLI and real mail servers: a
 * person of two ledgers gets a request for each, each reply lands in its own ledger (by the form,
 * by the thread), one that tells neither is answered asking which, and each ledger's office gets
 * its own consolidated workbook.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { fillForm, replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { exampleInstallation, makeProject, type Project } from '../helpers/project.js';
import { FOLDERS, formOf, send, type Parsed } from '../helpers/replies.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BIN } from '../helpers/project.js';
import { addLedgers } from '../helpers/config.js';

const mail = useMailStack();
const AI = 'aiyankun@example.com';
const MA = 'mahongxia@example.com';
const SAFETY_OFFICE = 'safety@office.test';
const SAFETY = '安全生产工作台账';

/** The seed's ledger as `main`, and a second ledger with a task for 艾延坤 and one for 马红霞, mailed to its own office. */
function twoLedgers(address: string) {
  return (doc: Record<string, any>) => {
    doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = address;
    addLedgers(doc, {
      id: 'safety', title: SAFETY, office: [{ name: '安全科', email: SAFETY_OFFICE }],
      tasks: [
        { no: 1, task: '开展安全生产大检查', due: '6.30', departments: ['办公室'], owners: ['艾延坤'] },
        { no: 2, task: '组织消防演练', due: '6.30', departments: ['机关总支'], owners: ['马红霞'] },
      ],
    });
  };
}

/** A table made by hand (no form identity): 序号 and 进展情况, as a person might build it. */
async function handMadeTable(rows: [number, string][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sheet1');
  ws.addRow(['序号', '主要任务', '进展情况', '备注']);
  for (const [no, progress] of rows) ws.addRow([no, '', progress, '']);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function requests(p: Project, who: string): Promise<Parsed[]> {
  return (await p.inbox(who)).filter((m) => m.from?.value[0].address === p.mailbox && (m.subject ?? '').startsWith('【请填报】'));
}

const person = (s: any, name: string) => s.people.find((x: any) => x.name === name);

describe('several ledgers, one mailbox', () => {
  it('asks a person of two ledgers once for each, files each reply in its own ledger, and mails each office its own ledger', async () => {
    const p = makeProject(mail(), twoLedgers('ledgers@office.test'));
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);

    // One request per ledger, each naming its ledger, each with its own form.
    const asked = await requests(p, AI);
    expect(asked).toHaveLength(2);
    const safetyReq = asked.find((m) => m.subject!.includes(SAFETY))!;
    const mainReq = asked.find((m) => m !== safetyReq)!;
    expect(mainReq.subject).toContain(p.config.ledgers[0].title);
    expect(safetyReq.attachments.map((a) => a.filename)).toEqual(['安全生产工作台账进展情况-2020年6月-艾延坤.xlsx']);
    expect(await requests(p, MA)).toHaveLength(2);
    expect(await requests(p, 'wangquncai@example.com')).toHaveLength(1); // no task in the second ledger
    expect(existsSync(path.join(p.dataDir, 'forms', '2020-06'))).toBe(true);
    expect(existsSync(path.join(p.dataDir, 'ledgers', 'safety', 'forms', '2020-06'))).toBe(true);

    // The seed ledger's form, as a reply to its request; the second ledger by its thread alone
    // (a table made by hand, a subject naming nothing); a third mail that says neither.
    await replyToRequest({ smtp: p.smtp, from: AI, original: mainReq.raw, answer: () => ({ progress: '法治：已完成' }) });
    await send(mail(), p, { from: AI, replyTo: safetyReq, subject: '进展情况', attachments: [{ filename: '安全.xlsx', content: await handMadeTable([[1, '安全：已检查']]) }] });
    const unclear = await send(mail(), p, { from: AI, subject: '进展情况', attachments: [{ filename: '表.xlsx', content: await handMadeTable([[1, '不知所属']]) }] });
    // 马红霞 answers both requests in one mail, both forms attached: each is recorded in its ledger.
    const forms = await Promise.all((await requests(p, MA)).map(async (r) => {
      const f = formOf(r);
      return { filename: `${r.subject!.includes(SAFETY) ? '安全' : '法治'}-${f.filename}`, content: await fillForm(f.content, () => ({ progress: r.subject!.includes(SAFETY) ? '演练：已完成' : '马：法治已办' })) };
    }));
    await send(mail(), p, { from: MA, subject: '两个台账的进展', attachments: forms });
    const collected = await p.tick('2020-06-21T09:00:00+08:00');
    expect(collected.code, collected.stderr).toBe(0);

    const main = await p.status();
    expect(Object.keys(main)).toEqual(['ledgers']);
    const [m, s] = main.ledgers;
    expect([m.ledger, s.ledger]).toEqual(['main', 'safety']);
    expect(person(m, '艾延坤').status).toBe('submitted');
    expect(person(s, '艾延坤').status).toBe('submitted');
    expect(person(s, '马红霞').status).toBe('submitted');
    expect(person(m, '马红霞').status).toBe('submitted');
    expect((await p.inbox(MA)).filter((x) => (x.subject ?? '').startsWith('【回执】')).map((x) => x.subject).sort()).toEqual([
      '【回执】已收到您《安全生产工作台账》2020年6月的进展情况',
      `【回执】已收到您《${p.config.ledgers[0].title}》2020年6月的进展情况`,
    ].sort());
    expect(s.people.map((x: any) => x.name)).toEqual(['艾延坤', '马红霞']);
    const only = JSON.parse((await p.cli('status', '--json', '--ledger', 'safety')).stdout);
    expect(only).toEqual({ ...s, ledger: 'safety' });
    expect(only.people.every((x: any) => x.reports <= 1)).toBe(true); // the unclear mail was recorded nowhere
    // The clerk's text: each ledger under its title.
    const text = (await p.cli('status', '--now', '2020-06-21T10:00')).stdout;
    const [mainPart, safetyPart] = text.split(`${SAFETY}\n`);
    expect(mainPart.startsWith(`${p.config.ledgers[0].title}\n`)).toBe(true);
    expect(mainPart).toContain('王群才');
    expect(safetyPart).toContain('应报 2 人，已报 2 人');
    expect(safetyPart).not.toContain('王群才');

    // Receipts name their ledger; the unclear mail is answered asking which ledger, and kept.
    const answers = (await p.inbox(AI)).filter((x) => x.from?.value[0].address === p.mailbox && !(x.subject ?? '').startsWith('【请填报】'));
    expect(answers.map((x) => x.subject).sort()).toEqual([
      '【回执】已收到您《安全生产工作台账》2020年6月的进展情况',
      `【回执】已收到您《${p.config.ledgers[0].title}》2020年6月的进展情况`,
      '【请补正】您的报送未能登记',
    ].sort());
    const ask = answers.find((x) => x.subject!.startsWith('【请补正】'))!;
    expect(ask.inReplyTo).toBe(unclear);
    expect(ask.text).toContain(`《${p.config.ledgers[0].title}》《${SAFETY}》`);
    expect(ask.text).toContain('无法确定您报送的是哪一项台账');
    expect(await p.inbox(p.mailbox, FOLDERS.rejected)).toHaveLength(1);

    // After the deadline: one workbook per ledger, each to its own office.
    const closed = await p.tick('2020-07-01T09:00:00+08:00');
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toContain(path.join(p.dataDir, 'ledgers', '2020-06', 'ledger-2020-06-v1.xlsx'));
    expect(closed.stdout).toContain(path.join(p.dataDir, 'ledgers', 'safety', 'ledgers', '2020-06', 'ledger-2020-06-v1.xlsx'));
    const mainOffice = (await p.inbox(p.office)).filter((x) => (x.subject ?? '').startsWith('【台账汇总】'));
    const safetyOffice = (await p.inbox(SAFETY_OFFICE)).filter((x) => (x.subject ?? '').startsWith('【台账汇总】'));
    expect(mainOffice.map((x) => x.subject)).toEqual([`【台账汇总】${p.config.ledgers[0].title}（2020年6月）`]);
    expect(safetyOffice.map((x) => x.subject)).toEqual([`【台账汇总】${SAFETY}（2020年6月）`]);
    const sheet = async (x: Parsed) => {
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(x.attachments.find((a) => a.filename?.endsWith('.xlsx'))!.content as unknown as ArrayBuffer);
      const texts: string[] = [];
      wb.getWorksheet('台账')!.eachRow((row) => row.eachCell((c) => { texts.push(c.text); }));
      return texts.join('\n');
    };
    const safetyText = await sheet(safetyOffice[0]);
    expect(safetyText).toContain('安全：已检查');
    expect(safetyText).toContain('演练：已完成');
    expect(safetyText).not.toContain('马：法治已办');
    expect(safetyText).not.toContain('法治：已完成');
    const mainText = await sheet(mainOffice[0]);
    expect(mainText).toContain('法治：已完成');
    expect(mainText).toContain('马：法治已办');
    expect(mainText).not.toContain('安全：已检查');
    expect(mainText).not.toContain('不知所属');

    // Nothing twice: a second tick at the same instant sends nothing.
    const before = mail().smtp.accepted.length;
    expect((await p.tick('2020-07-01T09:00:00+08:00')).code).toBe(0);
    expect(mail().smtp.accepted.length).toBe(before);

    // An unknown ledger is a usage error, as any other.
    const unknown = await p.cli('status', '--ledger', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no ledger "nope"');
    expect((await p.cli('send', '--ledger', 'nope')).code).toBe(2);
  });

  it('--ledger acts on that ledger alone: send, consolidate, status', async () => {
    const p = makeProject(mail(), twoLedgers('one-ledger@office.test'));
    const sent = await p.cli('send', '--ledger', 'safety', '--now', '2020-06-20T09:00:00+08:00');
    expect(sent.code, sent.stderr).toBe(0);
    expect((await requests(p, AI)).map((m) => m.subject)).toEqual([`【请填报】${SAFETY}（2020年6月进展情况）`]);
    expect(await requests(p, 'wangquncai@example.com')).toHaveLength(0);
    const main = JSON.parse((await p.cli('status', '--json', '--ledger', 'main', '--now', '2020-06-21')).stdout);
    expect(main.ledger).toBe('main');
    expect(main.people.every((x: any) => x.delivery === 'none')).toBe(true);
    const done = await p.cli('consolidate', '--ledger', 'safety', '--period', '2020-06', '--now', '2020-07-01T09:00:00+08:00');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout.trim().split('\n')).toEqual([`ledger: ${path.join(p.dataDir, 'ledgers', 'safety', 'ledgers', '2020-06', 'ledger-2020-06-v1.xlsx')}`]);
    const ours = async (who: string) => (await p.inbox(who)).filter((m) => m.from?.value[0].address === p.mailbox);
    expect((await ours(SAFETY_OFFICE)).map((m) => m.subject)).toEqual([`【台账汇总】${SAFETY}（2020年6月）`]);
    expect(await ours(p.office)).toHaveLength(0);
  });

  it('a single ledger: status --json is today\'s object with "ledger": "main"', async () => {
    const { config } = exampleInstallation();
    const { stdout } = await promisify(execFile)(BIN, ['--config', config, 'status', '--json', '--now', '2020-06-21'], { env: { ...process.env, TAIZHANG_LOG_LEVEL: 'warn' } });
    const s = JSON.parse(stdout);
    expect(Object.keys(s)).toEqual(['period', 'deadline', 'deadlinePassed', 'ledgerSentAt', 'ledgerVersion', 'people', 'summary', 'quarantined', 'unreadable', 'office', 'sendingPausedUntil', 'sendingPausedReason', 'waiting', 'ledger']);
    expect(s.ledger).toBe('main');
    expect(s.people).toHaveLength(4);
  });
});
