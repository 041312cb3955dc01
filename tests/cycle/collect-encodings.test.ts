/**
 * Mail encodings Chinese clients write: GBK/GB2312/GB18030 subjects and bodies, attachment names
 * as RFC 2047 words inside quotes, as RFC 2231 parameters (with continuations), and as raw 8-bit
 * GBK bytes. Every such reply is accepted end to end (real Dovecot + SMTP relay, the CLI), and the
 * service reads the stored raw bytes to the right subject and file names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeMessage, type ReadContext } from '../../src/parse/analyze.js';
import { createParsePool } from '../../src/parse/pool.js';
import { personKeyOf } from '../../src/core/identity.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, collectionFolders, filledForm, fixture, foldersOf, header, ledgers, type CasePerson,
  type FolderSnapshot,
} from '../helpers/replies.js';

const mail = useMailStack();

const KEYS = ['q2047', 'p2231', 'raw8', 'gb18030'] as const;
type Key = (typeof KEYS)[number];
const P = casePeople([...KEYS], 101, 2) as Record<Key, CasePerson>;

/** What each constructed mail's attachment is called, and its subject. */
const NAMES: Record<Key, string> = {
  q2047: '台账进展情况-引号内编码.xlsx',
  p2231: '二〇二〇年六月工作台账进展情况(RFC2231续行测试)-很长的文件名.xlsx',
  raw8: '进展情况-原始八位.xlsx',
  gb18030: '进展情况-𠮷䶮.xlsx',
};
const SUBJECTS: Record<Key, string> = {
  q2047: '回复:【请填报】六月进展情况(GBK)',
  p2231: '答复:六月进展情况',
  raw8: '回复:进展情况',
  gb18030: '回复:进展情况𠮷',
};
const BODY = '办公室:\r\n附件是本月进展情况,请查收。\r\n——测试员';

/** The seed's people reply from Foxmail, an OA mailer, Thunderbird and Outlook (fixtures, unchanged). */
const FIXTURES = [
  { file: 'foxmail-reply-gbk.eml', from: 'aiyankun@example.com', filename: '进展情况-艾延坤.xlsx', subject: '回复:【工作台账】请填报2020年10月进展情况(艾延坤)', rows: { 1: '已落实规章立项、起草、征求意见、审查、后评估五项制度。', 2: '涉及我局的规范性文件草案均在门户网站公开征求意见,期限30日。', 11: '本月无行政复议案件。' } },
  { file: 'raw-gbk-filename.eml', from: 'wangquncai@example.com', filename: '进展情况-王群才.xlsx', subject: '回复:【工作台账】请填报2020年10月进展情况(王群才)', rows: { 4: '本月未作出重大行政决策。', 9: '完成门户网站政务公开栏目自查。' } },
  { file: 'thunderbird-rfc2231.eml', from: 'lishixiang@example.com', filename: '2020年10月工作台账进展情况-发财科-李世想.xlsx', subject: 'Re: 【工作台账】请填报2020年10月进展情况(李世想)', rows: { 10: '已在门户网站发布政策解读2篇。' } },
  { file: 'outlook-reply-suppress.eml', from: 'mahongxia@example.com', filename: '进展情况-马红霞.xlsx', subject: '答复: 【工作台账】请填报2020年10月进展情况(马红霞)', rows: { 13: '干部考察材料中已写入学法用法情况。' } },
] as const;

let stack: ReturnType<typeof mail>;
let project: Project;
const mids: Record<string, string> = {};
let tick2: { code: number; stderr: string };
/** The mailbox's folders and the status after the reading tick (nothing changes them until the ledger's tick). */
let folderSnapshot: Promise<FolderSnapshot> | undefined;
let statusSnapshot: Promise<any> | undefined;
const folderOf = async (mid: string) => foldersOf(stack, project, mid, await (folderSnapshot ??= collectionFolders(stack, project)));
const status = () => (statusSnapshot ??= project.status('2020-06'));
const pool = createParsePool({ size: 1 });
afterAll(() => pool.close());

const words = (key: Key, no: number) => `${P[key].name}:第${no}项进展,含“引号”与𠮷字。`;
const latin = (s: string) => Buffer.from(s, 'latin1');
const pct = (b: Buffer) => [...b].map((x) => `%${x.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const word = (s: string, cs: string) => `=?${cs}?B?${iconv.encode(s, cs).toString('base64')}?=`;

/** A raw reply as the named kind of client writes it. */
function buildMail(key: Key, from: string, to: string, inReplyTo: string | undefined, content: Buffer): Buffer {
  const name = NAMES[key];
  const cs = key === 'gb18030' ? 'GB18030' : 'GBK';
  const b64 = content.toString('base64').replace(/.{76}/g, '$&\r\n');
  const mid = `<${key}.${Date.now()}@client.cases.test>`;
  mids[key] = mid;
  let subject: Buffer;
  let attHead: Buffer;
  let bodyHead = `Content-Type: text/plain; charset=${cs}\r\nContent-Transfer-Encoding: base64\r\n\r\n`;
  let body = iconv.encode(BODY, cs).toString('base64');
  switch (key) {
    case 'q2047':
      subject = latin(word(SUBJECTS[key], cs));
      attHead = latin(`Content-Type: application/octet-stream; name="${word(name, cs)}"\r\nContent-Disposition: attachment; filename="${word(name, cs)}"\r\n`);
      break;
    case 'p2231': {
      subject = latin(word(SUBJECTS[key], cs));
      // Continuations of 7 bytes each: some cut a two-byte character in half.
      const chunks = pct(iconv.encode(name, cs)).match(/(?:%[0-9A-F]{2}){1,7}/g)!;
      const parts = chunks.map((c, i) => `filename*${i}*=${i === 0 ? `${cs}''` : ''}${c}`);
      attHead = latin(`Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\nContent-Disposition: attachment;\r\n ${parts.join(';\r\n ')}\r\n`);
      break;
    }
    case 'raw8':
      // An OA mailer: raw 8-bit GBK in the subject, the file name and the body.
      subject = iconv.encode(SUBJECTS[key], cs);
      attHead = Buffer.concat([latin('Content-Type: application/octet-stream; name="'), iconv.encode(name, cs), latin('"\r\nContent-Disposition: attachment; filename="'), iconv.encode(name, cs), latin('"\r\n')]);
      bodyHead = `Content-Type: text/plain; charset=${cs}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`;
      body = '';
      break;
    case 'gb18030':
      subject = latin(word(SUBJECTS[key], cs));
      attHead = latin(`Content-Type: application/octet-stream;\r\n name="${word(name, cs)}"\r\nContent-Disposition: attachment;\r\n filename="${word(name, cs)}"\r\n`);
      break;
  }
  return Buffer.concat([
    latin(`From: ${word(P[key].name, cs)} <${from}>\r\nTo: ${to}\r\nSubject: `), subject,
    latin(`\r\nMessage-ID: ${mid}\r\nDate: Sun, 21 Jun 2020 08:30:00 +0800\r\n`),
    latin(inReplyTo ? `In-Reply-To: ${inReplyTo}\r\nReferences: ${inReplyTo}\r\n` : ''),
    latin('MIME-Version: 1.0\r\nX-Mailer: Foxmail 7.2.19.158[cn]\r\nContent-Type: multipart/mixed;\r\n\tboundary="----=_NextPart_5EEEA0B8_0D6A2C40_3C1B5A7E"\r\n\r\n'),
    latin('This is a multi-part message in MIME format.\r\n\r\n------=_NextPart_5EEEA0B8_0D6A2C40_3C1B5A7E\r\n'),
    latin(bodyHead), body ? latin(`${body}\r\n`) : Buffer.concat([iconv.encode(BODY, cs), latin('\r\n')]),
    latin('\r\n------=_NextPart_5EEEA0B8_0D6A2C40_3C1B5A7E\r\n'), attHead,
    latin(`Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n\r\n------=_NextPart_5EEEA0B8_0D6A2C40_3C1B5A7E--\r\n`),
  ]);
}

/** The raw message the service kept on disk for a Message-ID. */
function storedRaw(mid: string): { file: string; raw: Buffer } {
  const root = path.join(project.dataDir, 'mail');
  for (const v of readdirSync(root)) {
    for (const f of readdirSync(path.join(root, v))) {
      const file = path.join(root, v, f);
      const raw = readFileSync(file);
      if (header(raw, 'Message-ID') === mid) return { file, raw };
    }
  }
  throw new Error(`no stored raw message ${mid}`);
}

function analysisContext(): ReadContext {
  const secret = readFileSync(path.join(project.dataDir, 'secret'), 'utf8').trim();
  return { config: { mailbox: { address: project.mailbox } }, pool, secret };
}

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  const t1 = await project.tick('2020-06-20T09:00:00+08:00');
  expect(t1.code, t1.stderr).toBe(0);
  for (const key of KEYS) {
    const f = await filledForm(project, P[key].email, (no) => ({ progress: words(key, no) }));
    const raw = buildMail(key, P[key].email, project.mailbox, key === 'q2047' || key === 'raw8' ? f.request.messageId : undefined, f.content);
    await stack.deliver(raw, [project.mailbox], P[key].email);
  }
  for (const fx of FIXTURES) {
    const raw = fixture(`eml/${fx.file}`);
    mids[fx.from] = header(raw, 'Message-ID')!;
    await stack.deliver(raw, [project.mailbox], fx.from);
  }
  tick2 = await project.tick('2020-06-21T09:00:00+08:00');
}, 120_000);

describe('GBK, GB2312 and GB18030 replies built with real forms', () => {
  it('the tick succeeds', () => {
    expect(tick2.code, tick2.stderr).toBe(0);
  });

  for (const key of KEYS) {
    it(`${key}: accepted, answered in the thread, filed as processed`, async () => {
      const answers = await answersTo(project, P[key].email, mids[key]);
      expect(answers).toHaveLength(1);
      expect(answers[0].subject).toBe('【回执】已收到您2020年6月的进展情况');
      for (const t of P[key].tasks) expect(answers[0].text).toContain(`进展情况：${words(key, t.no)}`);
      expect(await folderOf(mids[key])).toEqual([FOLDERS.processed]);
      const s = await status();
      expect(s.people.find((p: { email: string }) => p.email === P[key].email)).toMatchObject({ status: 'submitted', reports: 1 });
    });

    it(`${key}: the stored raw bytes read to the right subject and file name`, async () => {
      const { file } = storedRaw(mids[key]);
      const a = await analyzeMessage(analysisContext(), file);
      expect(a.class.kind).toBe('human');
      expect(a.subject).toBe(SUBJECTS[key]);
      expect(a.from).toBe(P[key].email);
      expect(a.files).toHaveLength(1);
      const f = a.files[0];
      expect(f.filename).toBe(NAMES[key]);
      expect(f.ok).toBe(true);
      if (f.ok) expect(f.token?.personKey).toBe(personKeyOf({ id: P[key].name })); // the id defaults to the name
    });
  }
});

describe('replies from other mail clients (fixtures, unchanged)', () => {
  for (const fx of FIXTURES) {
    it(`${fx.file}: accepted for ${fx.from} and read to the right names`, async () => {
      const answers = await answersTo(project, fx.from, mids[fx.from]);
      expect(answers).toHaveLength(1);
      const r = answers[0];
      expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
      for (const [no, text] of Object.entries(fx.rows)) {
        expect(r.text).toMatch(new RegExp(`^${no}\\. `, 'm'));
        expect(r.text).toContain(`进展情况：${text}`);
      }
      expect(await folderOf(mids[fx.from])).toEqual([FOLDERS.processed]);
      const a = await analyzeMessage(analysisContext(), storedRaw(mids[fx.from]).file);
      expect(a.subject).toBe(fx.subject);
      expect(a.files.map((f) => f.filename)).toEqual([fx.filename]);
    });
  }

  it('a reply that fills some of the person\'s rows names the others as empty', async () => {
    const [r] = await answersTo(project, 'aiyankun@example.com', mids['aiyankun@example.com']);
    const tail = (r.text ?? '').split('以下任务未填写进展情况')[1] ?? '';
    for (const no of [3, 5, 7, 12, 14]) expect(tail).toMatch(new RegExp(`^${no}\\. `, 'm'));
    for (const no of [1, 2, 11]) expect(tail).not.toMatch(new RegExp(`^${no}\\. `, 'm'));
  });

  it('the ledger holds their words exactly', async () => {
    const t = await project.tick('2020-07-01T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const [l] = await ledgers(project);
    expect(l.progress.get(1)).toBe(FIXTURES[0].rows[1]);
    expect(l.progress.get(11)).toBe(FIXTURES[0].rows[11]);
    expect(l.progress.get(3)).toBe('艾延坤：未填写');
    expect(l.progress.get(4)).toBe(FIXTURES[1].rows[4]);
    expect(l.progress.get(13)).toBe(FIXTURES[3].rows[13]);
    // Task 10 belongs to 王群才 and 李世想: each one's words under their name.
    expect(l.progress.get(10)).toBe(`王群才：未填写\n李世想：${FIXTURES[2].rows[10]}`);
    for (const key of KEYS) for (const task of P[key].tasks) expect(l.progress.get(task.no)).toBe(words(key, task.no));
  });
});
