/**
 * People keyed by their id, through the real command line and mail servers: mid-month one person
 * gets a new address after reporting, another before reporting (and replies from the old one with
 * the office's form), and a task moves from one owner to another. Nothing reported is lost, no
 * second request goes out, reminders carry the current form, and the ledger keeps every word.
 */
import ExcelJS from 'exceljs';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringifyYaml } from '../../src/app/yaml.js';
import { replyToRequest } from '../../tools/respondent.js';
import { acceptedBy, isolate } from '../helpers/fleet.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const REMINDER = /提醒/;

async function rowsOf(xlsx: Buffer, sheet?: string): Promise<Map<number, string>> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx as unknown as ArrayBuffer);
  const ws = sheet ? wb.getWorksheet(sheet)! : wb.worksheets.find((w) => w.state === 'visible')!;
  const out = new Map<number, string>();
  ws.eachRow((row) => {
    const no = row.getCell(1).value;
    if (typeof no === 'number') out.set(no, String(row.getCell(4).value ?? ''));
  });
  return out;
}

function attachment(m: { attachments: { filename?: string; content: Buffer }[] }): Buffer {
  const a = m.attachments.find((x) => x.filename?.endsWith('.xlsx'));
  if (!a) throw new Error('no form attached');
  return a.content;
}

describe('an address changed and a task moved mid-month', () => {
  let p: Project;
  let sent: ReturnType<typeof mail>['smtp']['accepted'];
  const old: Record<string, string> = {};
  let liReply = '';

  beforeAll(async () => {
    const stack = mail();
    sent = stack.smtp.accepted;
    p = makeProject(stack, (d) => isolate(d));
    const [ai, wang, , li] = p.people;
    Object.assign(old, { ai: ai.email, wang: wang.email, li: li.email });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    for (const [who, words] of [[ai, '艾'], [wang, '王']] as const) {
      const req = (await p.inbox(who.email)).find((m) => REQUEST.test(m.subject ?? ''))!;
      await replyToRequest({ smtp: p.smtp, from: who.email, original: req.raw, answer: (no) => ({ progress: `${words}:第${no}项已推进。` }) });
    }
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);

    // The config changes: 艾延坤 (reported) and 李世想 (not yet) get new addresses; task 4 moves
    // from 王群才, who reported on it, to 马红霞.
    const doc = p.config;
    doc.people[0].email = old.ai.replace('@', '.new@');
    doc.people[3].email = old.li.replace('@', '.new@');
    doc.ledger.tasks.find((t: { no: number }) => t.no === 4).owners = ['马红霞'];
    writeFileSync(p.configFile, stringifyYaml(doc));
    expect((await p.tick('2020-06-22T09:00:00+08:00')).code).toBe(0);

    // 李世想 answers from his old address with the form the office sent him there.
    const req = (await p.inbox(old.li)).find((m) => REQUEST.test(m.subject ?? ''))!;
    liReply = await replyToRequest({ smtp: p.smtp, from: old.li, original: req.raw, answer: (no) => ({ progress: `李:第${no}项已推进。` }) });
    expect((await p.tick('2020-06-23T09:00:00+08:00')).code).toBe(0);
    expect((await p.tick('2020-06-25T09:00:00+08:00')).code).toBe(0); // reminder day
    expect((await p.tick('2020-07-01T09:00:00+08:00')).code).toBe(0); // the ledger
  }, 180_000);

  it('a new address keeps the report and gets no second request', async () => {
    const requests = acceptedBy(sent, REQUEST);
    const toPeople = [...requests].filter(([to]) => to !== p.mailbox); // not the replies quoting the subject
    expect(toPeople.map(([, n]) => n)).toEqual(p.people.map(() => 1)); // one each, all before the change
    expect(requests.get(p.config.people[0].email)).toBeUndefined();
    expect(requests.get(p.config.people[3].email)).toBeUndefined();
    expect(requests.get(old.ai)).toBe(1);
    const s = await p.status('2020-06');
    expect(s.people.find((x: { id: string }) => x.id === '艾延坤')).toMatchObject({ email: p.config.people[0].email, status: 'submitted', reports: 1 });
  });

  it('a reply from the old address with the office\'s form is recorded for its person, the receipt to the sender', async () => {
    const s = await p.status('2020-06');
    expect(s.people.find((x: { id: string }) => x.id === '李世想')).toMatchObject({ status: 'submitted', sentBy: old.li });
    expect(s.quarantined).toBe(0);
    const receipts = (await p.inbox(old.li)).filter((m) => m.inReplyTo === liReply);
    expect(receipts.map((m) => m.subject)).toEqual(['【回执】已收到您2020年6月的进展情况']);
    expect((await p.inbox(p.config.people[3].email)).filter((m) => REMINDER.test(m.subject ?? ''))).toEqual([]);
  });

  it('reminders go to the current address with the current form: the task moved to 马红霞 is on hers', async () => {
    const ma = p.config.people[2].email;
    const inbox = await p.inbox(ma);
    const request = inbox.find((m) => REQUEST.test(m.subject ?? ''))!;
    const reminders = inbox.filter((m) => REMINDER.test(m.subject ?? ''));
    expect(reminders).toHaveLength(1);
    expect([...(await rowsOf(attachment(request))).keys()]).not.toContain(4);
    expect([...(await rowsOf(attachment(reminders[0]))).keys()]).toContain(4);
    const reminded = acceptedBy(sent, REMINDER);
    // The collection mailbox's own copy (self_copy) is not a reminder to anyone.
    expect([...reminded.keys()].filter((to) => to !== p.mailbox.toLowerCase())).toEqual([ma]);
  });

  it('the ledger keeps what 王群才 reported for the task he no longer owns', async () => {
    const ledgers = (await p.inbox(p.office)).filter((m) => m.attachments.some((a) => a.filename?.endsWith('.xlsx')));
    const rows = await rowsOf(attachment(ledgers[ledgers.length - 1]), '台账');
    expect(rows.get(4)).toBe('马红霞：未报送\n王群才：王:第4项已推进。');
    expect(rows.get(1)).toBe('艾:第1项已推进。');
    expect(rows.get(10)).toBe('王群才：王:第10项已推进。\n李世想：李:第10项已推进。');
  });
});
