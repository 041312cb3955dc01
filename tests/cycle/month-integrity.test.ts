/**
 * A report counts for the month it was asked for (issue 15, item 1), through the real CLI and
 * real mail servers over two months: last month's form reused in this month's thread or in last
 * month's, a closed month written to again without and with the correction route (更正), and
 * what the office is told when a closed month changes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fillForm } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { answersTo, formOf, ledgers, send, type Parsed } from '../helpers/replies.js';

const mail = useMailStack();

const AI = 'aiyankun@example.com';
const WANG = 'wangquncai@example.com';
const MA = 'mahongxia@example.com';
const LI = 'lishixiang@example.com';

let stack: ReturnType<typeof mail>;
let p: Project;

/** The mail of a kind (【请填报】, 【提醒】, 【回执】 …) for a month in a person's inbox, oldest first. */
async function mailsOf(email: string, prefix: string, month?: string): Promise<Parsed[]> {
  return (await p.inbox(email)).filter((m) => (m.subject ?? '').startsWith(prefix) && (!month || (m.subject ?? '').includes(month)));
}

/** Replies to `original` with the June form of `email` filled with `words`, as a person reusing last month's file does. */
async function replyWithJuneForm(email: string, original: Parsed, words: string, subject?: string): Promise<string> {
  const [june] = await mailsOf(email, '【请填报】', '2020年6月');
  const form = formOf(june);
  return send(stack, p, {
    from: email, replyTo: original, subject,
    attachments: [{ filename: form.filename, content: await fillForm(form.content, (no) => ({ progress: `${words}:${no}` })) }],
  });
}

const ledgerOffice = async (subject: RegExp) => (await ledgers(p)).filter((l) => subject.test(l.mail.subject ?? ''));
const person = (s: any, email: string) => s.people.find((x: { email: string }) => x.email === email);

beforeAll(async () => {
  stack = mail();
  p = makeProject(stack);
  expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
  for (const email of [AI, WANG, LI]) {
    const [req] = await mailsOf(email, '【请填报】', '2020年6月');
    await replyWithJuneForm(email, req, `六月${email.slice(0, 3)}`);
  }
  expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
  const closing = await p.tick('2020-07-01T09:00:00+08:00');
  expect(closing.stdout).toMatch(/ledger-2020-06-v1\.xlsx/);
}, 180_000);

describe('a closed month with no later month open', () => {
  let rewrite = '';
  let late = '';

  beforeAll(async () => {
    // 艾延坤 sends June's form again after the ledger went out, without 更正; 马红霞 reports late for the first time.
    const [aiReq] = await mailsOf(AI, '【请填报】', '2020年6月');
    rewrite = await replyWithJuneForm(AI, aiReq, '改写六月');
    const [maReq] = await mailsOf(MA, '【请填报】', '2020年6月');
    late = await replyWithJuneForm(MA, maReq, '马六月迟报');
    expect((await p.tick('2020-07-02T09:00:00+08:00')).code).toBe(0);
  }, 120_000);

  it('keeps the owner\'s recorded report and answers how to correct it', async () => {
    const [r] = await answersTo(p, AI, rewrite);
    expect(r.subject).toBe('【请补正】您的报送未能登记');
    expect(r.text).toContain('该月汇总台账已报送办公室，您此前报送的内容保持不变');
    expect(r.text).toContain('请在邮件主题中注明“更正”二字后重新发送');
    const s = await p.status('2020-06');
    expect(person(s, AI)).toMatchObject({ status: 'submitted', reports: 1 });
  });

  it('records a missing report late, and the updated ledger tells the office what changed', async () => {
    const [r] = await answersTo(p, MA, late);
    expect(r.text).toContain('已按逾期报送登记');
    const updates = await ledgerOffice(/台账更新/);
    expect(updates).toHaveLength(1);
    const text = updates[0].mail.text ?? '';
    expect(text).toContain('本版变动（与上一版相比）：');
    expect(text).toMatch(/马红霞：逾期报送（2020年7月2日 9:00收到），涉及第8、13、14、15、17项/);
    expect(text).not.toContain('艾延坤：');
    expect(updates[0].progress.get(1)).toBe('六月aiy:1');
  });
});

describe('last month\'s form while this month is open', () => {
  let inJulyThread = '';
  let inJuneThread = '';
  let officeBefore = 0;

  beforeAll(async () => {
    expect((await p.tick('2020-07-20T09:00:00+08:00')).code).toBe(0);
    officeBefore = (await p.inbox(p.office)).length;
    // 艾延坤 answers July's request with June's file filled anew; 王群才 answers June's old request with it.
    const [julyReq] = await mailsOf(AI, '【请填报】', '2020年7月');
    inJulyThread = await replyWithJuneForm(AI, julyReq, '七月艾');
    const [juneReq] = await mailsOf(WANG, '【请填报】', '2020年6月');
    inJuneThread = await replyWithJuneForm(WANG, juneReq, '七月王');
    expect((await p.tick('2020-07-21T09:00:00+08:00')).code).toBe(0);
  }, 120_000);

  it('counts for the open month, and the receipt says which form was used', async () => {
    for (const [email, mid] of [[AI, inJulyThread], [WANG, inJuneThread]]) {
      const [r] = await answersTo(p, email, mid);
      expect(r.subject).toBe('【回执】已收到您2020年7月的进展情况');
      expect(r.text).toContain('您使用的是2020年6月的表格，已按2020年7月登记。2020年6月的汇总台账已报送，其内容未作改动');
    }
    const july = await p.status('2020-07');
    expect(person(july, AI)).toMatchObject({ status: 'submitted', reports: 1 });
    expect(person(july, WANG)).toMatchObject({ status: 'submitted', reports: 1 });
  });

  it('leaves the closed month as it was: no rewrite, nothing late, no updated ledger', async () => {
    const june = await p.status('2020-06');
    expect(person(june, AI)).toMatchObject({ status: 'submitted', reports: 1, reportedAt: '2020-06-21T01:00:00.000Z' });
    expect(person(june, WANG)).toMatchObject({ status: 'submitted', reports: 1 });
    expect((await p.inbox(p.office)).length).toBe(officeBefore);
  });

  it('reminds only those who have not reported for the open month', async () => {
    expect((await p.tick('2020-07-25T10:00:00+08:00')).code).toBe(0);
    expect(await mailsOf(AI, '【提醒】', '2020年7月')).toHaveLength(0);
    expect(await mailsOf(WANG, '【提醒】', '2020年7月')).toHaveLength(0);
    expect(await mailsOf(LI, '【提醒】', '2020年7月')).toHaveLength(1);
  });
});

describe('the correction route', () => {
  let correction = '';

  beforeAll(async () => {
    const [juneReq] = await mailsOf(AI, '【请填报】', '2020年6月');
    correction = await replyWithJuneForm(AI, juneReq, '六月更正', '更正:6月进展情况');
    expect((await p.tick('2020-07-26T09:00:00+08:00')).code).toBe(0);
  }, 120_000);

  it('changes the closed month, says so in the receipt, and leaves the open month alone', async () => {
    const [r] = await answersTo(p, AI, correction);
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain('本次为更正，已替换此前报送的2020年6月进展情况');
    expect(person(await p.status('2020-06'), AI)).toMatchObject({ status: 'submitted', reports: 2 });
    expect(person(await p.status('2020-07'), AI)).toMatchObject({ status: 'submitted', reports: 1 });
  });

  it('the office gets the updated June ledger naming the correction and the tasks it touched', async () => {
    const updates = await ledgerOffice(/台账更新.*2020年6月/);
    expect(updates).toHaveLength(2);
    const last = updates[1];
    expect(last.mail.text).toMatch(/艾延坤：更正（2020年7月26日 9:00收到），涉及第1、2、3、5、7、11、12、14项/);
    expect(last.mail.text).not.toContain('马红霞：');
    expect(last.progress.get(1)).toBe('六月更正:1');
  });

  it('the open month\'s ledger holds what was reported for it', async () => {
    expect((await p.tick('2020-08-01T09:00:00+08:00')).code).toBe(0);
    const july = (await ledgerOffice(/台账汇总.*2020年7月/))[0];
    expect(july).toBeDefined();
    expect(july.progress.get(1)).toBe('七月艾:1');
    expect(july.progress.get(4)).toBe('七月王:4');
  });
});
