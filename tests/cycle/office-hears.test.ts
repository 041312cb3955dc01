/**
 * The office hears without asking, through the real CLI, real mail servers and a local server
 * standing in for WeCom, DingTalk and Feishu (it verifies their signatures): the status mail on
 * status days, once per day and after downtime only the latest; group-chat notices on reminder
 * days and when the ledger is ready, @-mentioning pending people by mobile, once per event, a
 * transient failure tried again, a refused one never crashing the tick. Without `notify:` nothing
 * is posted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { isolate, readDb } from '../helpers/fleet.js';
import { notifyConfig, startChatServer, type ChatServer } from '../helpers/chat-server.js';

const mail = useMailStack();
const SECRETS = { dingtalk: 'SECdingtalk-secret-0123456789', feishu: 'feishu-secret-abc' };
const MOBILES = { 王群才: '13800000001', 马红霞: '13800000002' };
let chat: ChatServer | undefined;
afterAll(async () => { await chat?.close(); });

const STATUS = /【报送情况】/;

async function statusMails(p: Project) {
  return (await p.inbox(p.office)).filter((m) => STATUS.test(m.subject ?? ''));
}

async function tick(p: Project, now: string) {
  const r = await p.tick(now);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe('the office hears without asking', () => {
  it('status mails on status days and group-chat notices on reminder days and for the ledger, each once', async () => {
    const stack = mail();
    chat = await startChatServer(SECRETS);
    const p = makeProject(stack, (d) => {
      isolate(d);
      d.schedule.status_days = [23, 26, 27];
      d.notify = [...notifyConfig(chat!, SECRETS, MOBILES),
        // A channel whose secret the platform does not know: refused, logged, the tick goes on.
        { kind: 'feishu', webhook: `${chat!.base}/feishu/hook/wrong`, secret: 'not-the-secret' }];
    });
    await tick(p, '2020-06-20T09:00:00+08:00');
    expect(chat.requests).toHaveLength(0); // nothing to say on the send day

    const [ai] = p.people;
    const request = (await p.inbox(ai.email)).find((m) => /请填报/.test(m.subject ?? ''))!;
    await replyToRequest({ smtp: { ...stack.smtp, password: stack.password }, from: ai.email, original: request.raw, answer: () => ({ progress: '按计划推进。' }) });

    // Status day 23: one mail to the office listing who has not reported; again at the same instant: none.
    await tick(p, '2020-06-23T09:00:00+08:00');
    await tick(p, '2020-06-23T09:00:00+08:00');
    const first = await statusMails(p);
    expect(first).toHaveLength(1);
    expect(first[0].text).toMatch(/应报4人，已报1人，未报3人/);
    expect(first[0].text).toMatch(/尚未报送：王群才（.+）、马红霞（.+）、李世想（.+）/);
    expect(first[0].text).not.toMatch(/艾延坤/);
    expect(first[0].text).toMatch(/2020年6月23日/);

    // Reminder day 25: DingTalk is busy at first; every channel gets the notice once.
    chat.fail('dingtalk', 1);
    const day25 = await tick(p, '2020-06-25T09:00:00+08:00');
    await tick(p, '2020-06-25T09:30:00+08:00');
    expect(day25.stderr).toMatch(/group chat notices 3, failed 1/);
    const wecom = chat.accepted('wecom');
    const ding = chat.accepted('dingtalk');
    const feishu = chat.accepted('feishu');
    expect([wecom.length, ding.length, feishu.length]).toEqual([1, 1, 1]);
    expect(wecom[0].text.content).toMatch(/【台账提醒】.*尚有3人未报送：王群才（.+）、马红霞（.+）、李世想/);
    expect(wecom[0].text.mentioned_mobile_list.sort()).toEqual(['13800000001', '13800000002']);
    expect(ding[0].at.atMobiles.sort()).toEqual(['13800000001', '13800000002']);
    expect(ding[0].text.content).toMatch(/@13800000001/);
    expect(feishu[0].content.text).toMatch(/尚有3人未报送：王群才/);
    expect(chat.requests.filter((r) => r.platform === 'dingtalk' && !r.accepted)).toHaveLength(1); // the 500
    // The refused channel: tried once (a refusal is final), never again.
    expect(chat.requests.filter((r) => r.url.pathname.endsWith('/wrong'))).toHaveLength(1);

    // Down from the 25th to the 29th: only the latest status day's mail (27, not 26) and the
    // latest reminder day's notice (28).
    const day29 = await tick(p, '2020-06-29T09:00:00+08:00');
    const statuses = await statusMails(p);
    expect(statuses).toHaveLength(2);
    expect(statuses[1].text).toMatch(/截至2020年6月29日 9:00/);
    expect(readDb(p, (d) => d.prepare("SELECT slot FROM outbox WHERE kind = 'status' ORDER BY id").all())).toEqual([
      { slot: `day-23:${p.office}` }, { slot: `day-27:${p.office}` }]);
    expect(chat.accepted('wecom')).toHaveLength(2);
    expect(chat.accepted('wecom')[1].text.content).toMatch(/【台账提醒】/);
    expect(day29.stderr).toMatch(/group chat notices 3/);

    // The ledger: one notice per channel for its version, naming who is missing.
    await tick(p, '2020-07-01T09:00:00+08:00');
    await tick(p, '2020-07-01T09:10:00+08:00');
    for (const kind of ['wecom', 'dingtalk', 'feishu'] as const) expect(chat.accepted(kind), kind).toHaveLength(3);
    expect(chat.accepted('feishu')[2].content.text).toMatch(/【台账汇总】.*汇总台账已生成，已发送至办公室邮箱。应报4人，已报1人，未报送3人/);
    expect(chat.accepted('wecom')[2].text.mentioned_mobile_list.sort()).toEqual(['13800000001', '13800000002']);
    expect(await statusMails(p)).toHaveLength(2); // no status mail once the month is closed
  }, 180_000);

  it('posts nothing without notify:, and sends no status mail without status_days', async () => {
    const stack = mail();
    chat ??= await startChatServer(SECRETS);
    const before = chat.requests.length;
    const p = makeProject(stack, (d) => { isolate(d); });
    await tick(p, '2020-06-20T09:00:00+08:00');
    const r = await tick(p, '2020-06-25T09:00:00+08:00');
    expect(r.stderr).not.toMatch(/group chat/);
    await tick(p, '2020-07-01T09:00:00+08:00');
    expect(chat.requests.length).toBe(before);
    expect(await statusMails(p)).toHaveLength(0);
  }, 120_000);
});
